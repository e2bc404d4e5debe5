#pragma once
// Keeps a tensor's ANN index current while a dataset is written: it hears of
// each commit (dataset::subscribe) and adds the new rows on a thread of its
// own, so appends never wait for it. A subscriber that falls behind gets
// commits merged, so under a fast writer the index catches up in larger steps;
// searches meanwhile scan the rows it has not added yet (see search).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "serialake/dataset.hpp"
#include "serialake/search.hpp"

namespace serialake {

/// Follows one tensor of one open dataset. Move-only; stops when destroyed.
class indexer {
 public:
  /// Starts following `tensor` of `ds`; creates its index with `o` (from the
  /// last commit) unless it has one. Throws like create_index.
  indexer(dataset ds, std::string tensor, const index_options& o = {});
  ~indexer();
  indexer(indexer&&) noexcept;
  indexer& operator=(indexer&&) noexcept;

  /// Waits until the index covers at least `rows` rows; false on timeout, and
  /// throws the error of an update that failed (the indexer stops after one).
  bool wait_for_rows(uint64_t rows, std::chrono::milliseconds timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
