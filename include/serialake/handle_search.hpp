#pragma once
// The handle's search: top-k over an open dataset's last commit (or a given
// snapshot of it), answered on a reader actor of its own while the writer goes
// on. Link serialake::search_actors; a program that only searches snapshots
// links serialake::search, and one that does not search links neither.
//
//   serialake::search_options o;
//   o.k = 10;
//   auto f = serialake::search(ds, "embedding", {queries.data(), count, dim}, o);
//   serialake::search_result r = f.get();  // r.hits[q][0] is query q's best, at r.version
//
// Any number of searches may run at once, from any threads: each runs on a
// thread of its own (one detached actor per search), so they proceed in
// parallel with each other and never delay appends, which go to the dataset's
// actor. The result is exactly what search(snapshot, ...) gives for the same
// snapshot (serialake/search.hpp).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "serialake/dataset.hpp"
#include "serialake/future.hpp"
#include "serialake/search.hpp"

namespace serialake {

/// What a search on a dataset handle returns.
struct search_result {
  uint64_t version = 0;                ///< the commit that was searched
  std::vector<std::vector<hit>> hits;  ///< per query, best first
};

/// Searches tensor `tensor` of the last commit of `ds`. The queries are copied
/// before it returns. The future fails with what search(snapshot, ...) throws,
/// or closed if the dataset closed first; its continuations run on the
/// dataset's callback actor (serialake/future.hpp).
future<search_result> search(const dataset& ds, std::string tensor, const query_batch& queries,
                             const search_options& opts = {});

/// The same over `snap`, a snapshot of `ds` (pinned: later commits are not seen).
future<search_result> search(const dataset& ds, std::shared_ptr<const snapshot> snap, std::string tensor,
                             const query_batch& queries, const search_options& opts = {});

}  // namespace serialake
