#pragma once
// The state behind a Python Dataset: the handle, the tensor specs the
// conversions need, the snapshot reads use, and the first error of an append
// nobody waited for.
//
// Appends from Python do not wait: `ds[name].append(x)` converts and checks x
// against the tensor (dtype, fixed shape) with the GIL held, queues one copy
// (releasing the GIL for large samples and whenever the queue may make it
// wait), and returns. An append that fails later (in the writer)
// records its error here, and the next append, flush, commit or close raises it:
// no error is lost, and threads ingest without a round trip per sample.

#include <pybind11/pybind11.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "serialake/dataset.hpp"

namespace serialake::python {

namespace py = pybind11;

/// The queue bound of datasets opened from Python (dataset_options' default).
inline constexpr uint64_t queue_bytes = 16ull << 20;
/// Samples up to this size are queued without releasing the GIL when the queue has room.
inline constexpr size_t gil_held_bytes = 64 << 10;

/// One open dataset as Python sees it. Thread-safe.
class dataset_state {
 public:
  explicit dataset_state(serialake::dataset ds);

  serialake::dataset& handle() { return ds_; }
  /// The spec of tensor `name` (asks the dataset on a miss); throws not_found.
  /// The reference stays valid: specs are never removed.
  const tensor_spec& spec(const std::string& name);
  /// Adds a tensor.
  void create_tensor(const tensor_spec& spec);
  /// Queues `x` for `tensor` without waiting (see above).
  void append(const std::string& tensor, py::handle x);
  /// Queues one row (a dict of tensor -> value) without waiting.
  void append_row(py::dict values);
  /// Appends rows given as a dict of tensor -> sequence, all or nothing; waits.
  void extend(py::dict columns);
  /// Appends many samples of one tensor, all or nothing; waits.
  void extend_tensor(const std::string& tensor, py::iterable values);
  /// Waits until everything appended before is committed; raises the first
  /// error of an earlier append. An empty message: a plain flush.
  commit_info commit(const std::string& message);
  /// The snapshot reads use: the last commit, after a flush of this handle's
  /// appends since the last read. Call without the GIL (it may flush).
  std::shared_ptr<const snapshot> current();
  /// Picks up newer commits; true if there were.
  bool refresh();
  /// Commits, closes and raises any error an append left.
  void close();

 private:
  /// Raises (once) the error an earlier append left, if any.
  void raise_failed();
  /// Records the outcome of an append nobody waits for.
  void watch(append_future f);
  /// Notes an append: the next read flushes and takes a new snapshot.
  void touched();
  /// Converts a dict of tensor -> value.
  row to_row(py::dict values);
  /// Waits for `f` with the GIL released, after the continuations of the
  /// appends that completed before it (they run in completion order).
  commit_info settle(future<commit_info> f);

  serialake::dataset ds_;
  std::mutex mtx_;
  std::unordered_map<std::string, tensor_spec> specs_;
  std::mutex snap_mtx_;
  std::shared_ptr<const snapshot> snap_;
  std::atomic<bool> pending_{false};  // appended since the last flush
  std::atomic<bool> stale_{false};    // snap_ may be older than the last commit
  struct failure;
  std::shared_ptr<failure> failed_;
};

/// A commit as a dict {version, time_ms, lock_gen, message, samples}.
py::dict commit_dict(const commit_info& c);

/// Opens the dataset at `path` (serialake.open's arguments).
std::shared_ptr<dataset_state> open_dataset(const std::string& path, bool read_only, double lock_timeout,
                                            bool create, bool durable, const std::optional<std::string>& lock,
                                            std::optional<uint64_t> version);

}  // namespace serialake::python
