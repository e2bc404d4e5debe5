#pragma once
// An immutable view of one committed version. Safe to use from any thread, any
// number of threads at once, while the store keeps appending and committing.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunk_files.hpp"
#include "core/tensor_index.hpp"
#include "serialake/types.hpp"

namespace serialake {

/// One tensor as a snapshot sees it.
struct tensor_view {
  tensor_spec spec;
  std::vector<std::string> chunks;    ///< chunk file names by chunk number
  tensor_index::blocks blocks;        ///< shared with the writer
  uint64_t length = 0;

  const index_entry& entry(uint64_t i) const {
    return (*blocks[i / tensor_index::block_entries])[i % tensor_index::block_entries];
  }
};

/// A problem found by verify.
struct problem {
  std::string tensor;  ///< empty for dataset-wide problems
  uint64_t index = 0;
  std::string file;
  std::string message;
};

/// An immutable committed version of a dataset.
class snapshot {
 public:
  snapshot(std::string path, uint64_t version, std::vector<tensor_view> tensors,
           std::shared_ptr<chunk_files> files);

  const std::string& path() const noexcept { return path_; }
  /// The commit this snapshot shows (0: nothing committed yet).
  uint64_t version() const noexcept { return version_; }
  /// Tensors in creation order.
  const std::vector<tensor_view>& tensors() const noexcept { return tensors_; }
  /// The tensor named `name`; throws not_found.
  const tensor_view& tensor(std::string_view name) const;
  bool has_tensor(std::string_view name) const noexcept;
  /// Number of committed samples of `name`.
  uint64_t length(std::string_view name) const { return tensor(name).length; }
  /// Sample `index` of `name`; throws not_found (bad name or index) or corrupt
  /// (checksum mismatch, naming tensor, index and chunk file).
  sample read(std::string_view name, uint64_t index) const;
  /// Re-reads every sample and checks its checksum; returns what is wrong.
  std::vector<problem> verify() const;

 private:
  std::string path_;
  uint64_t version_;
  std::vector<tensor_view> tensors_;
  std::shared_ptr<chunk_files> files_;
};

/// Decodes stored bytes (dims prefix, data) into a sample of `spec`.
sample decode_sample(const tensor_spec& spec, uint8_t ndim, const char* p, size_t n);

}  // namespace serialake
