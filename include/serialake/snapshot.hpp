#pragma once
// Reading one committed version of a dataset. A snapshot is immutable: every
// call here is safe from any number of threads at once, while the dataset
// keeps appending and committing.
//
// Every read checks each sample's checksum (XXH3, kept per sample in the index)
// as its bytes arrive; a mismatch is errc::corrupt naming tensor, index and
// chunk file, and the other samples stay readable.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "serialake/types.hpp"

namespace serialake {

struct snapshot_data;  // the index and open files behind a snapshot (not installed)

/// A problem found by verify.
struct problem {
  std::string tensor;  ///< empty for dataset-wide problems
  uint64_t index = 0;
  std::string file;
  std::string message;
};

/// What read_into stored: the sample's data size and shape, kept inline so
/// that a read allocates nothing.
struct sample_extent {
  size_t size = 0;                         ///< data bytes written to the buffer
  size_t ndim = 0;                         ///< dimensions (a blob has one: its size)
  std::array<uint64_t, max_ndim> shape{};  ///< extents; the first `ndim` count
  /// The shape as a shape_t.
  shape_t to_shape() const { return shape_t(shape.begin(), shape.begin() + ndim); }
};

/// Consecutive samples of a fixed-shape tensor lying back to back in memory, as
/// scan hands them out. Every sample in it has passed its checksum.
struct sample_span {
  uint64_t first = 0;          ///< index of the first sample
  uint64_t count = 0;          ///< samples in the span
  size_t sample_bytes = 0;     ///< bytes of one sample
  const void* data = nullptr;  ///< count * sample_bytes bytes, valid during the call only
};

/// An immutable committed version of a dataset.
class snapshot {
 public:
  /// Made by the store (store::snapshot, dataset::snapshot), not by users.
  explicit snapshot(std::shared_ptr<const snapshot_data> data);
  ~snapshot();

  /// The dataset directory.
  const std::string& path() const noexcept;
  /// The commit this snapshot shows (0: nothing committed yet).
  uint64_t version() const noexcept;
  /// Tensors in creation order.
  std::vector<tensor_spec> tensors() const;
  /// True if the snapshot has a tensor `name`.
  bool has_tensor(std::string_view name) const noexcept;
  /// The spec of tensor `name`; throws not_found.
  const tensor_spec& spec(std::string_view name) const;
  /// Number of committed samples of `name`; throws not_found.
  uint64_t length(std::string_view name) const;

  /// Sample `index` of `name`; throws not_found (bad name or index) or corrupt
  /// (checksum mismatch, naming tensor, index and chunk file).
  sample read(std::string_view name, uint64_t index) const;

  /// Reads sample `index` of `name` into [buffer, buffer + capacity) without
  /// allocating: its element bytes go to the buffer, its shape to the result.
  /// Throws not_found (bad name or index), invalid_argument (capacity smaller
  /// than the sample, naming the size needed) or corrupt.
  sample_extent read_into(std::string_view name, uint64_t index, void* buffer, size_t capacity) const;

  /// Reads samples [begin, end) of a fixed-shape tensor into one buffer, back to
  /// back, with one pread per run of contiguous samples; returns the bytes
  /// written ((end - begin) * sample bytes). Throws not_found (bad name, range
  /// past the length), schema_mismatch (no fixed shape: use the form below),
  /// invalid_argument (capacity too small, naming the size needed) or corrupt.
  size_t read_range(std::string_view name, uint64_t begin, uint64_t end, void* buffer,
                    size_t capacity) const;
  /// Samples [begin, end) of any tensor (ragged ones too), read in large blocks.
  /// Throws not_found or corrupt.
  std::vector<sample> read_range(std::string_view name, uint64_t begin, uint64_t end) const;

  /// Hands `fn` samples [begin, end) of a fixed-shape tensor as spans in index
  /// order, without a copy per sample: each span is one pread of a run of
  /// samples contiguous in one chunk (at most 1 MiB, or one larger sample) into
  /// a buffer the call reuses. A span never crosses a chunk. What `fn` throws propagates. Throws
  /// not_found, schema_mismatch (no fixed shape) or corrupt (before handing out
  /// a span holding the bad sample).
  void scan(std::string_view name, uint64_t begin, uint64_t end,
            const std::function<void(const sample_span&)>& fn) const;

  /// Re-reads every sample and checks its checksum; returns what is wrong.
  std::vector<problem> verify() const;

  /// The internals (core/snapshot_data.hpp), for serialake's own code.
  const snapshot_data& data() const noexcept { return *data_; }

 private:
  std::shared_ptr<const snapshot_data> data_;
};

}  // namespace serialake
