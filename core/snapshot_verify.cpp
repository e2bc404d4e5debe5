// snapshot::verify: every committed sample checked in one sequential pass over the
// dataset's files, in bounded memory.
//
// Memory bound: one read window of `window_bytes` (1 MiB) and one cursor per
// tensor, whatever the size of the dataset, its chunks, its log or its samples
// (a sample larger than the window is hashed as it streams through), plus the
// problems found. The sample index walked is the snapshot's, already in memory.
//
// Order of reading: a chunk file holds one tensor's samples, and the tensor's
// index visits them front to back, so each tensor's chunks are read in index
// order. commits.log holds the samples that small commits inlined, of every
// tensor, interleaved: those are visited by a merge of the tensors' index
// streams on offset, so the log is read once, front to back, too.

#include <fcntl.h>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack: a streamed hash
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <queue>
#include <tuple>

#include "serialake/error.hpp"
#include "core/format.hpp"
#include "core/snapshot_data.hpp"

namespace serialake {
namespace {

constexpr size_t window_bytes = 1 << 20;

// Reads one file at a time through a fixed window: a read inside the window
// costs nothing, one past it refills the window from that offset.
class window_reader {
 public:
  window_reader() : buf_(window_bytes, '\0') {}

  // Switches to `path` (no-op if already there); throws not_found or io.
  void open(const std::string& path) {
    if (path == path_ && file_) return;
    file_ = io::file();
    path_ = path;
    len_ = 0;
    file_ = io::file::open(path, O_RDONLY);
  }
  const std::string& path() const noexcept { return path_; }

  // Hands bytes [off, off+n) to `piece(const char*, size_t)` in order, in one or
  // more pieces; false if the file ends first.
  template <class F>
  bool read(uint64_t off, uint64_t n, F&& piece) {
    while (n > 0) {
      if (off < at_ || off >= at_ + len_) {
        at_ = off;
        len_ = file_.pread_upto(buf_.data(), buf_.size(), off);
        if (len_ == 0) return false;
      }
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, at_ + len_ - off));
      piece(buf_.data() + (off - at_), k);
      off += k;
      n -= k;
    }
    return true;
  }

 private:
  std::string buf_;
  io::file file_;
  std::string path_;
  uint64_t at_ = 0;  // file offset of buf_[0]
  size_t len_ = 0;   // valid bytes in buf_
};

struct found {
  size_t tensor;  // position in the snapshot, for the report's order
  problem p;
};

// Checks samples one at a time, reading them through one window, and collects
// what is wrong.
class checker {
 public:
  checker(const chunk_files& files, std::vector<found>& out) : files_(files), out_(out) {}

  void check(size_t ti, const tensor_view& t, uint64_t i) {
    const index_entry& e = t.entry(i);
    std::string file = files_.path(t.spec.name, t.chunks[e.chunk]);
    if (file != in_.path() || !opened_) {
      opened_ = false;
      bool reported = failed_ == file;  // one problem per unreadable file, not per sample
      failed_.clear();
      try {
        in_.open(file);
        opened_ = true;
      } catch (const error& ex) {
        failed_ = file;
        if (!reported) out_.push_back({ti, {t.spec.name, i, file, "cannot read chunk: " + ex.message()}});
        return;
      }
    }
    // Hash as the bytes stream by; keep the dims prefix for the size check.
    const size_t dims_len = format::stores_dims(t.spec) ? format::dims_bytes(e.ndim) : 0;
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    uint64_t seen = 0;
    bool whole;
    try {
      whole = in_.read(e.offset, e.size, [&](const char* p, size_t n) {
        XXH3_64bits_update(&st, p, n);
        if (seen < dims_len) std::memcpy(dims_ + seen, p, std::min<uint64_t>(n, dims_len - seen));
        seen += n;
      });
    } catch (const error& ex) {
      out_.push_back({ti, {t.spec.name, i, file, "cannot read chunk: " + ex.message()}});
      return;
    }
    std::string why;
    if (!whole)
      why = "chunk is truncated";
    else if (XXH3_64bits_digest(&st) != e.hash)
      why = "checksum mismatch";
    else
      why = format::size_mismatch(t.spec, e.ndim, dims_, e.size);
    if (!why.empty()) out_.push_back({ti, {t.spec.name, i, file, std::move(why)}});
  }

 private:
  const chunk_files& files_;
  std::vector<found>& out_;
  window_reader in_;
  bool opened_ = false;
  std::string failed_;  // the file that could not be opened last
  char dims_[255 * 8];
};

}  // namespace

std::vector<problem> snapshot::verify() const {
  std::vector<found> found_list;
  const snapshot_data& d = *data_;
  checker chk(*d.files, found_list);
  // Chunk files, tensor by tensor. The log's id in a tensor's chunk list, if any.
  std::vector<std::optional<uint32_t>> log_id(d.tensors.size());
  for (size_t ti = 0; ti < d.tensors.size(); ++ti) {
    auto& t = d.tensors[ti];
    if (auto it = std::find(t.chunks.begin(), t.chunks.end(), std::string()); it != t.chunks.end())
      log_id[ti] = static_cast<uint32_t>(it - t.chunks.begin());
    for (uint64_t i = 0; i < t.length; ++i)
      if (t.entry(i).chunk != log_id[ti]) chk.check(ti, t, i);
  }
  // commits.log: a cursor per tensor at its next inlined sample, merged on offset.
  using cursor = std::tuple<uint64_t, size_t, uint64_t>;  // offset, tensor, index
  std::priority_queue<cursor, std::vector<cursor>, std::greater<cursor>> next;
  auto advance = [&](size_t ti, uint64_t i) {
    auto& t = d.tensors[ti];
    while (i < t.length && t.entry(i).chunk != log_id[ti]) ++i;
    if (i < t.length) next.emplace(t.entry(i).offset, ti, i);
  };
  for (size_t ti = 0; ti < d.tensors.size(); ++ti)
    if (log_id[ti]) advance(ti, 0);
  while (!next.empty()) {
    size_t ti = std::get<1>(next.top());
    uint64_t i = std::get<2>(next.top());
    next.pop();
    chk.check(ti, d.tensors[ti], i);
    advance(ti, i + 1);
  }
  std::stable_sort(found_list.begin(), found_list.end(), [](const found& a, const found& b) {
    return std::tie(a.tensor, a.p.index) < std::tie(b.tensor, b.p.index);
  });
  std::vector<problem> out;
  for (auto& f : found_list) out.push_back(std::move(f.p));
  return out;
}

}  // namespace serialake
