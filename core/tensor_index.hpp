#pragma once
// Where each sample of a tensor is stored. Append-only, in fixed blocks that are
// never moved, so a snapshot shares the blocks with the writer: the writer only
// fills slots past every snapshot's length, and a snapshot only reads below it.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace serialake {

/// One sample's location in its tensor's chunks.
struct index_entry {
  uint64_t offset = 0;  ///< byte offset in the chunk
  uint64_t hash = 0;    ///< checksum of the stored bytes
  uint32_t size = 0;    ///< stored bytes (dims prefix and data)
  uint32_t chunk = 0;   ///< position in the tensor's chunk list
  uint8_t ndim = 0;
};

/// Append-only list of index entries in shared, immovable blocks.
class tensor_index {
 public:
  static constexpr size_t block_entries = 4096;
  using block = std::array<index_entry, block_entries>;
  using blocks = std::vector<std::shared_ptr<block>>;

  /// REQUIRES: called by the single writer only.
  void push(const index_entry& e) {
    if (size_ % block_entries == 0) blocks_.push_back(std::make_shared<block>());
    (*blocks_.back())[size_ % block_entries] = e;
    ++size_;
  }
  uint64_t size() const noexcept { return size_; }
  const index_entry& operator[](uint64_t i) const {
    return (*blocks_[i / block_entries])[i % block_entries];
  }
  /// REQUIRES: the writer, and `i` past every snapshot's length.
  index_entry& at(uint64_t i) { return (*blocks_[i / block_entries])[i % block_entries]; }
  /// The block list, for a snapshot to share.
  const blocks& share() const noexcept { return blocks_; }

 private:
  blocks blocks_;
  uint64_t size_ = 0;
};

}  // namespace serialake
