#pragma once
// The server's side of one Append stream (service/serialake.proto).

#include <grpcpp/grpcpp.h>

#include "service/registry.hpp"
#include "service/serialake.grpc.pb.h"

namespace serialake::service {

/// Starts serving an Append stream; it deletes itself when the call ends.
grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply>* start_append(registry& reg);

}  // namespace serialake::service
