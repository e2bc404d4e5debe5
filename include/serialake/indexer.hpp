#pragma once
// Keeps a tensor's ANN index current while a dataset is written: an indexer
// actor of its own (detached: inserts are CPU-bound) hears of each commit from
// the dataset's notifier and adds the new rows, so appends never wait for it.
// Commits that come while it is busy reach it merged into one event, so under
// a fast writer the index catches up in larger steps; searches meanwhile scan
// the rows it has not added yet (see search). Link serialake::search_actors.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "serialake/dataset.hpp"
#include "serialake/search.hpp"

namespace serialake {

/// Follows one tensor of one open dataset. Move-only; stops when destroyed.
/// Destroy it before its engine, as every dataset handle (it holds one): an
/// engine destroyed while a handle of one of its datasets lives waits forever
/// in the actor system's shutdown (seen with a plain handle too; not yet fixed).
class indexer {
 public:
  /// Starts following `tensor` of `ds`; creates its index with `o` (from the
  /// last commit) unless it has one. Throws like create_index. It keeps the
  /// dataset open; if the dataset is closed anyway, it stops (an update it was
  /// sent and could no longer make fails with closed).
  /// Destroying it waits for an update in progress.
  indexer(dataset ds, std::string tensor, const index_options& o = {});
  ~indexer();
  indexer(indexer&&) noexcept;
  indexer& operator=(indexer&&) noexcept;

  /// Waits until the index covers at least `rows` rows; false on timeout, and
  /// throws the error of an update that failed (the indexer stops after one).
  bool wait_for_rows(uint64_t rows, std::chrono::milliseconds timeout);

  /// Index updates made so far (one per event it handled: the catch-up at
  /// start, then one per commit, or per several merged while it was busy).
  uint64_t updates() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
