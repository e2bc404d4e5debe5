// snapshot's bulk reads: read_range and scan. Both walk [begin, end) in runs of
// samples lying back to back in one chunk, read each run with one pread, and
// check every sample's checksum in the bytes read.
//
// Why pread into a reused buffer rather than mmap: mmap would save the copy out
// of the page cache, but a chunk file shortened under a live mapping (damage,
// a user's truncate) turns a read into SIGBUS, and bad files must give
// errc::corrupt, never a crash. serialake-bench --read measures what the copy
// costs against mmap (docs/benchmarks.md).
//
// Checksum granularity: per sample, as read. The index keeps one XXH3 hash per
// sample, so that is the only granularity the format offers without a second
// hash per block; hashing runs at memory speed next to the copy.

#include <algorithm>
#include <memory>

#include "core/format.hpp"
#include "core/snapshot_data.hpp"
#include "serialake/error.hpp"

namespace serialake {
namespace {

// The bytes scan reads at once: large enough that a pread costs little per
// byte, small enough to stay in L2/L3 while fn and the hash touch it.
constexpr uint64_t block_bytes = 1 << 20;

// Samples [first, first + count) of a tensor, back to back in one chunk from
// byte `offset`, `bytes` long.
struct run {
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

// Calls f(run) for [begin, end) of `t` in index order. A run ends at a chunk
// change, a gap, or when adding a sample would take it past `limit` bytes (a
// sample larger than `limit` is a run of its own). `fixed`, if nonzero, is the
// size every entry must have (else corrupt).
template <class F>
void for_each_run(const snapshot_data& d, const tensor_view& t, uint64_t begin, uint64_t end,
                  uint64_t limit, uint64_t fixed, F&& f) {
  run r;
  uint32_t chunk = 0;
  for (uint64_t i = begin; i < end; ++i) {
    const index_entry& e = t.entry(i);
    if (fixed && e.size != fixed)
      throw error(errc::corrupt, d.where(t, i) + ": " + format::size_mismatch(t.spec, e.ndim, nullptr, e.size));
    if (r.count && (e.chunk != chunk || e.offset != r.offset + r.bytes || r.bytes + e.size > limit)) {
      f(r);
      r.count = 0;
    }
    if (!r.count) {
      r = run{i, 0, e.offset, 0};
      chunk = e.chunk;
    }
    ++r.count;
    r.bytes += e.size;
  }
  if (r.count) f(r);
}

// Reads run `r` into `buf` and checks each sample's hash; throws corrupt naming
// the first sample that is missing or fails.
void read_run(const snapshot_data& d, const tensor_view& t, const run& r, char* buf) {
  auto f = d.chunk(t, r.first);
  const size_t got = f->pread_upto(buf, r.bytes, r.offset);
  uint64_t at = 0;
  for (uint64_t i = r.first; i < r.first + r.count; ++i) {
    const index_entry& e = t.entry(i);
    if (at + e.size > got) throw error(errc::corrupt, d.where(t, i) + ": chunk file is truncated");
    if (format::hash(buf + at, e.size) != e.hash)
      throw error(errc::corrupt, d.where(t, i) + ": checksum mismatch");
    at += e.size;
  }
}

// A read buffer of `n` bytes, uninitialized (a std::string or vector would
// zero it first, touching every byte once more).
std::unique_ptr<char[]> buffer_of(uint64_t n) { return std::unique_ptr<char[]>(new char[n]); }

}  // namespace

size_t snapshot::read_range(std::string_view name, uint64_t begin, uint64_t end, void* buffer,
                            size_t capacity) const {
  const tensor_view& t = data_->tensor(name);
  const uint64_t each = data_->fixed_bytes(t, "read_range into a buffer");
  data_->check_range(t, begin, end);
  const uint64_t need = (end - begin) * each;  // <= length * 4 GiB: no overflow
  if (capacity < need)
    throw error(errc::invalid_argument, "a buffer of " + std::to_string(capacity) + " bytes is too small for " +
                                            std::to_string(end - begin) + " samples of tensor '" + t.spec.name +
                                            "': it needs " + std::to_string(need) + " bytes");
  // Straight into the caller's buffer: each run lands where its samples belong.
  auto* out = static_cast<char*>(buffer);
  for_each_run(*data_, t, begin, end, UINT64_MAX, each,
               [&](const run& r) { read_run(*data_, t, r, out + (r.first - begin) * each); });
  return static_cast<size_t>(need);
}

std::vector<sample> snapshot::read_range(std::string_view name, uint64_t begin, uint64_t end) const {
  const tensor_view& t = data_->tensor(name);
  data_->check_range(t, begin, end);
  std::vector<sample> out;
  out.reserve(end - begin);
  std::unique_ptr<char[]> buf;
  uint64_t have = 0;
  for_each_run(*data_, t, begin, end, block_bytes, 0, [&](const run& r) {
    if (r.bytes > have) {
      // A run past block_bytes is one sample whose size is the log's claim:
      // check the chunk holds it before allocating (as read does).
      if (r.bytes > block_bytes) {
        const uint64_t n = data_->chunk(t, r.first)->size();
        if (r.offset > n || r.bytes > n - r.offset)
          throw error(errc::corrupt, data_->where(t, r.first) + ": chunk file is truncated");
      }
      have = std::max(r.bytes, block_bytes);
      buf = buffer_of(have);
    }
    read_run(*data_, t, r, buf.get());
    uint64_t at = 0;
    for (uint64_t i = r.first; i < r.first + r.count; ++i) {
      const index_entry& e = t.entry(i);
      if (auto why = format::size_mismatch(t.spec, e.ndim, buf.get() + at, e.size); !why.empty())
        throw error(errc::corrupt, data_->where(t, i) + ": " + why);
      out.push_back(decode_sample(t.spec, e.ndim, buf.get() + at, e.size));
      at += e.size;
    }
  });
  return out;
}

void snapshot::scan(std::string_view name, uint64_t begin, uint64_t end,
                    const std::function<void(const sample_span&)>& fn) const {
  const tensor_view& t = data_->tensor(name);
  const uint64_t each = data_->fixed_bytes(t, "scan");
  data_->check_range(t, begin, end);
  if (begin == end) return;
  // Checked before the buffer is sized: a fixed shape can claim any size, a
  // stored entry at most 4 GiB.
  if (t.entry(begin).size != each)
    throw error(errc::corrupt, data_->where(t, begin) + ": " +
                                   format::size_mismatch(t.spec, t.entry(begin).ndim, nullptr, t.entry(begin).size));
  const uint64_t size = std::max(each, std::min(block_bytes, (end - begin) * each));
  auto buf = buffer_of(size);
  for_each_run(*data_, t, begin, end, size, each, [&](const run& r) {
    read_run(*data_, t, r, buf.get());
    fn(sample_span{r.first, r.count, static_cast<size_t>(each), buf.get()});
  });
}

}  // namespace serialake
