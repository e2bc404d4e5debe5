// Writing a commit: small ones inline in the log, larger ones to chunks first.

#include "core/store_impl.hpp"

#include <fcntl.h>

#include "core/clock.hpp"

namespace serialake {

using detail::tensor_state;
using detail::pending_seg;

bool store::impl::can_inline() const {
  uint64_t total = 0;
  for (auto& t : tensors) {
    if (t.segs.empty()) continue;
    if (t.buf.size() != t.pending || t.segs.size() != 1) return false;
    total += t.pending;
  }
  return total <= opts.write_buffer_bytes;
}

format::segment store::impl::segment_of(const tensor_state& t, const pending_seg& ps, bool inlined) const {
  format::segment seg{t.meta.spec.name, inlined ? std::string() : t.chunks[ps.chunk], ps.start, {}};
  seg.entries.reserve(ps.count);
  for (uint64_t i = ps.first; i < ps.first + ps.count; ++i) {
    const index_entry& e = t.index[i];
    seg.entries.push_back(format::entry{e.size, e.ndim, e.hash});
  }
  return seg;
}

void store::impl::write_inline(format::record& r) {
  for (auto& t : tensors)
    if (!t.segs.empty()) {
      r.segments.push_back(segment_of(t, t.segs[0], true));
      r.data_len += static_cast<uint32_t>(t.pending);
    }
  scratch.clear();
  format::encode(r, scratch);  // once for its size: starts are fixed-width
  uint64_t at = log_end + scratch.size();
  for (auto& seg : r.segments) {
    seg.start = at;
    for (auto& e : seg.entries) at += e.size;
  }
  scratch.clear();
  format::encode(r, scratch);
  std::vector<iovec> iov{iovec{scratch.data(), scratch.size()}};
  for (auto& t : tensors)
    if (!t.segs.empty()) iov.insert(iov.end(), t.buf.pieces().begin(), t.buf.pieces().end());
  log.writev_all(iov.data(), iov.size());
  std::vector<io::file*> just_log{&log};
  syncs.sync(just_log);
  size_t k = 0;
  for (auto& t : tensors) {
    if (t.segs.empty()) continue;
    uint32_t cid = t.chunk_id("");
    uint64_t off = r.segments[k++].start;
    for (uint64_t i = t.segs[0].first; i < t.index.size(); ++i) {
      index_entry& e = t.index.at(i);
      e.chunk = cid;
      e.offset = off;
      off += e.size;
    }
    t.out_size -= t.pending;  // none of it went to the chunk file
    t.buf.discard();
  }
  log_end = at;
}

void store::impl::write_chunked(format::record& r) {
  std::vector<io::file*> to_sync;
  std::vector<io::file> dirs;
  for (auto& t : tensors) {
    if (t.segs.empty()) continue;
    flush_buffer(t);
    for (auto& ps : t.segs) r.segments.push_back(segment_of(t, ps, false));
    for (auto& f : t.sealed) to_sync.push_back(&f);
    if (t.out) to_sync.push_back(&t.out);
    if (t.dir_dirty) dirs.push_back(io::file::open(tensor_dir(t.meta.spec.name), O_RDONLY | O_DIRECTORY));
  }
  scratch.clear();
  format::encode(r, scratch);
  log.write_all(scratch.data(), scratch.size());
  for (auto& d : dirs) to_sync.push_back(&d);
  to_sync.push_back(&log);
  syncs.sync(to_sync);
  for (auto& t : tensors) {
    if (t.segs.empty()) continue;
    t.sealed.clear();
    t.dir_dirty = false;
  }
  log_end += scratch.size();
}

void store::impl::check_fence() {
  const uint64_t size = log.size();
  if (size != log_end)
    throw error(errc::lock_lost, dir + "/" + format::log_file + " ends at offset " +
                                     std::to_string(size) + ", not at " + std::to_string(log_end) +
                                     " where this writer's last commit left it: another writer "
                                     "has written it; nothing more can be committed");
  if (fence) fence();
}

commit_info store::impl::do_commit(const std::string& message) {
  const bool any = pending_samples > 0;
  // Under the log's flock from the fence check to the synced record: a writer
  // that lost its lock cannot append after a newer holder's records.
  io::exclusive_flock held(log, opts.log_wait);
  check_fence();
  if (!any && message.empty()) return version > 0 ? infos.back() : commit_info{};
  format::record r;
  r.version = version + 1;
  r.time_ms = now_ms();
  r.lock_gen = lock_gen;
  r.message = message;
  try {
    if (any && can_inline())
      write_inline(r);
    else
      write_chunked(r);
  } catch (...) {
    // Best effort to make the failed commit's outcome definite (absent); the
    // store refuses writes from here on either way.
    try {
      log.truncate(log_end);
    } catch (const error&) {
    }
    throw;
  }
  if (scratch.capacity() > (4u << 20)) std::string().swap(scratch);
  last_ranges.clear();
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto& t = tensors[i];
    if (t.index.size() > t.committed) last_ranges.emplace_back(i, t.committed);
    t.committed = t.index.size();
    t.segs.clear();
    t.pending = 0;
  }
  version = r.version;
  infos.push_back(commit_info{r.version, r.time_ms, r.lock_gen, r.message, pending_samples});
  pending_samples = 0;
  snap.reset();
  return infos.back();
}

}  // namespace serialake
