// The handle's search (serialake/handle_search.hpp): one detached
// searcher_actor (actors.hpp) per search, over a snapshot; the search itself
// is search(snapshot, ...) of serialake_search.

#include <caf/all.hpp>

#include "actors/actors.hpp"
#include "actors/dataset_shared.hpp"
#include "serialake/handle_search.hpp"

namespace serialake {
namespace {

struct searcher_state {
  snapshot_ptr snap;
  static inline const char* name = "serialake.searcher";
};

search_result run(const snapshot& snap, const search_request& r) {
  search_result out;
  out.version = snap.version();
  out.hits = search(snap, r.tensor, query_batch{r.queries.data(), r.count, r.dim}, r.opts);
  return out;
}

searcher_actor::behavior_type searcher_impl(searcher_actor::stateful_pointer<searcher_state> self,
                                            snapshot_ptr snap) {
  self->state.snap = std::move(snap);
  return {
    [self](search_atom, const search_request& r, const reply<search_result>& p) {
      try {
        p->set_value(run(*self->state.snap, r));
      } catch (const error& e) {
        p->set_error(e);
      }
      self->quit();
    },
  };
}

// The request, with the caller's queries copied: the search runs after the
// call returns.
search_request make_request(std::string tensor, const query_batch& q, const search_options& o) {
  if (q.count && q.dim && !q.data)
    throw error(errc::invalid_argument, "search of tensor '" + tensor + "': the query batch has no data");
  search_request r;
  r.tensor = std::move(tensor);
  r.queries.assign(q.data, q.data + q.count * q.dim);
  r.count = q.count;
  r.dim = q.dim;
  r.opts = o;
  return r;
}

void dispatch(caf::actor_system& sys, snapshot_ptr snap, search_request r, reply<search_result> p) {
  // Spawned with its snapshot as the argument (a function actor spawned with
  // none gets a null argument tuple in CAF 0.17).
  auto a = sys.spawn<caf::detached>(searcher_impl, std::move(snap));
  caf::anon_send(a, search_atom::value, std::move(r), std::move(p));
}

// A future completed by `p`, its continuations on the dataset's callback actor.
future<search_result> promised(detail::dataset_shared& s, reply<search_result>& p) {
  auto st = std::make_shared<detail::async_state<search_result>>();
  st->runner = s.runner;
  p = std::make_shared<detail::promise<search_result>>(st);
  return future<search_result>(std::move(st));
}

}  // namespace

future<search_result> search(const dataset& ds, std::shared_ptr<const snapshot> snap, std::string tensor,
                             const query_batch& queries, const search_options& opts) {
  auto& s = detail::dataset_access::shared(ds);
  s.need_local("search()");  // a served dataset searches on its server: remote_dataset::search
  s.get();  // closed, or forked: fail now (the actor system may be gone)
  if (!snap) throw error(errc::invalid_argument, "search of tensor '" + tensor + "' on a null snapshot");
  auto r = make_request(std::move(tensor), queries, opts);
  reply<search_result> p;
  auto f = promised(s, p);
  dispatch(*s.sys, std::move(snap), std::move(r), std::move(p));
  return f;
}

future<search_result> search(const dataset& ds, std::string tensor, const query_batch& queries,
                             const search_options& opts) {
  auto& s = detail::dataset_access::shared(ds);
  s.need_local("search()");
  s.get();
  auto r = make_request(std::move(tensor), queries, opts);
  reply<search_result> p;
  auto f = promised(s, p);
  // The snapshot without blocking: its continuation spawns the searcher.
  s.call_async<snapshot_ptr>(snapshot_atom::value)
    .then([sys = s.sys, r = std::move(r), p = std::move(p)](future<snapshot_ptr> snap) mutable {
      snapshot_ptr at;
      try {
        at = snap.get();
      } catch (const error& e) {
        p->set_error(e);
        return;
      }
      dispatch(*sys, std::move(at), std::move(r), std::move(p));
    });
  return f;
}

}  // namespace serialake
