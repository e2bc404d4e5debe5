#pragma once
// How the server's Append streams write into one served dataset, with no gRPC
// thread ever waiting:
//
// Admission. The batches handed to the dataset and not yet applied are bounded
// (by their estimated memory, batch_cost) across all of the dataset's streams,
// below the dataset's own queue bound (the registry opens datasets with
// queue_factor times the budget), so append_rows never blocks. A batch that
// does not fit is parked, and its stream stops reading until it is admitted
// (from the continuation of an append that frees room), so a full dataset slows
// its clients through HTTP/2 flow control. Parked batches are admitted in
// arrival order; a batch larger than the whole budget goes alone.
//
// Group commit. A durable batch is acknowledged after a flush that was asked
// for after its append was queued. One flush is in flight at a time: the
// durable batches that arrive meanwhile all wait for the next one, so
// concurrent streams (and a stream's concurrent batches) share one commit, as
// local durable appends do.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "serialake/dataset.hpp"

namespace serialake::service {

/// See above. Thread-safe; held by the registry with its dataset.
class intake : public std::enable_shared_from_this<intake> {
 public:
  /// The dataset's queue bound is this many times the admission budget (a
  /// margin: a batch's memory in the queue stays below its cost).
  static constexpr uint64_t queue_factor = 2;

  /// Writes into `ds`, admitting at most `budget` bytes of batch_cost at a time.
  intake(dataset ds, uint64_t budget) : ds_(std::move(ds)), budget_(budget) {}

  /// A batch's result: its first index, or its error (then none of its rows was applied).
  using done_fn = std::function<void(uint64_t first, const error* e)>;

  /// Appends `rows` (`cost` from batch_cost) now if there is room, else once
  /// there is. `done` runs once the rows were applied (and with `durable`, once
  /// a commit holding them is on disk). Returns false if the batch was parked:
  /// `admitted` then runs when it is handed to the dataset. Never blocks.
  bool submit(std::vector<row> rows, uint64_t cost, bool durable, done_fn done, std::function<void()> admitted);

  /// The dataset written to.
  dataset& target() { return ds_; }

 private:
  struct batch {
    std::vector<row> rows;
    uint64_t cost;
    bool durable;
    done_fn done;
    std::function<void()> admitted;
  };
  void start(batch b);
  void applied(uint64_t cost);
  void after_commit(std::function<void(const error*)> ack);
  void flush_for(std::vector<std::function<void(const error*)>> acks);
  // Moves the next group into `acks`; false (and no flush in flight) if none waits.
  bool next_group(std::vector<std::function<void(const error*)>>& acks);

  dataset ds_;
  const uint64_t budget_;
  std::mutex mtx_;
  uint64_t in_flight_ = 0;           // cost of batches handed over, not yet applied
  std::deque<batch> parked_;         // waiting for room, oldest first
  bool flushing_ = false;            // a group flush is in flight
  std::vector<std::function<void(const error*)>> next_group_;  // wait for the next flush
};

/// A conservative estimate of the memory a batch takes in the dataset's queue
/// (its samples' bytes plus the containers around them), from its size on the
/// wire and its numbers of rows and cells.
uint64_t batch_cost(uint64_t wire_bytes, size_t rows, size_t cells);

}  // namespace serialake::service
