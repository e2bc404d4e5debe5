#include "service/search_call.hpp"

#include <thread>

#include "service/convert.hpp"

namespace serialake::service {

grpc::ServerUnaryReactor* start_search(registry& reg, grpc::CallbackServerContext* ctx, const v1::SearchRequest* req,
                                       v1::SearchReply* rep, std::atomic<int>& running) {
  auto* r = ctx->DefaultReactor();
  if (running.fetch_add(1) >= max_searches) {
    --running;
    r->Finish(to_status(error(errc::unavailable, "the server runs " + std::to_string(max_searches) +
                                                     " searches already; retry later")));
    return r;
  }
  try {
    search_options o = from_proto(*req);
    if (req->dim() == 0 || req->queries_size() % req->dim() != 0)
      throw error(errc::invalid_argument, "a search's queries (" + std::to_string(req->queries_size()) +
                                              " floats) are not a multiple of its dim (" +
                                              std::to_string(req->dim()) + ")");
    auto snap = reg.get(req->name()).snapshot();
    // The thread ends the call; it neither touches `running` nor the snapshot
    // after Finish, when the server may be gone.
    std::thread([r, req, rep, &running, snap = std::move(snap), o = std::move(o)]() mutable {
      grpc::Status st = grpc::Status::OK;
      try {
        const query_batch q{req->queries().data(), static_cast<size_t>(req->queries_size()) / req->dim(), req->dim()};
        to_proto(search(*snap, req->tensor(), q, o), *rep);
        rep->set_version(snap->version());
      } catch (const error& e) {
        st = to_status(e);
      } catch (const std::exception& e) {  // bad_alloc: this call's failure only
        st = to_status(error(errc::internal, e.what()));
      }
      snap.reset();
      --running;
      r->Finish(st);
    }).detach();
  } catch (const error& e) {
    --running;
    r->Finish(to_status(e));
  }
  return r;
}

}  // namespace serialake::service
