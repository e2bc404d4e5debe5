#pragma once
// The server's side of one Search call (service/serialake.proto).

#include <atomic>

#include <grpcpp/grpcpp.h>

#include "service/registry.hpp"
#include "service/serialake.grpc.pb.h"

namespace serialake::service {

/// Most Search calls running at once; more fail with errc::unavailable.
inline constexpr int max_searches = 4;

/// Answers `req` into `rep` from a snapshot of the dataset, on a thread of its
/// own (a scan takes long; gRPC's callback threads must not wait for it).
/// `running` counts the searches in flight (at most max_searches).
grpc::ServerUnaryReactor* start_search(registry& reg, grpc::CallbackServerContext* ctx, const v1::SearchRequest* req,
                                       v1::SearchReply* rep, std::atomic<int>& running);

}  // namespace serialake::service
