#pragma once
// What a snapshot holds: per tensor its chunk list and a share of the writer's
// index, and the dataset's open chunk files. Internal: the public class
// (include/serialake/snapshot.hpp) keeps a pointer to it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunk_files.hpp"
#include "core/tensor_index.hpp"
#include "serialake/snapshot.hpp"
#include "serialake/types.hpp"

namespace serialake {

/// One tensor as a snapshot sees it.
struct tensor_view {
  tensor_spec spec;
  std::vector<std::string> chunks;    ///< chunk file names by chunk number
  tensor_index::blocks blocks;        ///< shared with the writer
  uint64_t length = 0;
  /// Stored bytes of every sample when the spec fixes them (a numeric tensor
  /// with a fixed shape); set by snapshot_data's constructor.
  std::optional<uint64_t> fixed_bytes;

  const index_entry& entry(uint64_t i) const {
    return (*blocks[i / tensor_index::block_entries])[i % tensor_index::block_entries];
  }
};

/// The state of one snapshot. Immutable once made.
struct snapshot_data {
  snapshot_data(std::string path, uint64_t version, std::vector<tensor_view> tensors,
                std::shared_ptr<chunk_files> files);

  std::string path;
  uint64_t version;
  std::vector<tensor_view> tensors;  ///< in creation order
  std::shared_ptr<chunk_files> files;

  /// The tensor named `name`; throws not_found.
  const tensor_view& tensor(std::string_view name) const;
  /// Throws not_found unless [begin, end) lies within `t`'s length.
  void check_range(const tensor_view& t, uint64_t begin, uint64_t end) const;
  /// "tensor 'x' index 7 in chunk <path>", for errors about one sample.
  std::string where(const tensor_view& t, uint64_t index) const;
  /// The open chunk file holding sample `index`; a missing file is corrupt.
  std::shared_ptr<io::file> chunk(const tensor_view& t, uint64_t index) const;
  /// The stored bytes of each sample of `t`; throws schema_mismatch naming `call`
  /// if `t` has no fixed shape.
  uint64_t fixed_bytes(const tensor_view& t, const char* call) const;
};

/// Decodes stored bytes (dims prefix, data) into a sample of `spec`.
sample decode_sample(const tensor_spec& spec, uint8_t ndim, const char* p, size_t n);

}  // namespace serialake
