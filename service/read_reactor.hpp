#pragma once
// The server's side of one Read stream (service/serialake.proto).

#include <grpcpp/grpcpp.h>

#include "service/registry.hpp"
#include "service/serialake.grpc.pb.h"

namespace serialake::service {

/// Starts streaming the rows `req` asks for; deletes itself when the call ends.
grpc::ServerWriteReactor<v1::ReadReply>* start_read(registry& reg, const v1::ReadRequest& req);

}  // namespace serialake::service
