#include "core/store.hpp"

#include <fcntl.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.hpp"
#include "core/commit_log.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/gather_buffer.hpp"
#include "core/schema.hpp"

namespace serialake {
namespace {

std::string random_writer_id() {
  std::random_device rd;
  uint64_t v = (uint64_t{rd()} << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string strip_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// A run of uncommitted samples of one tensor in one chunk.
struct pending_seg {
  uint32_t chunk;
  uint64_t start;
  uint64_t first;  // index of the first sample
  uint64_t count;
};

struct tensor_state {
  schema_tensor meta;
  std::vector<std::string> chunks;
  std::unordered_map<std::string, uint32_t> chunk_ids;
  tensor_index index;
  uint64_t committed = 0;
  // Writer side.
  io::file out;           // the open chunk
  uint32_t out_chunk = 0;
  uint64_t out_size = 0;  // bytes of the open chunk, written or buffered
  uint64_t next_seq = 0;
  gather_buffer buf{0};   // bytes not yet written to `out`
  std::vector<pending_seg> segs;
  uint64_t pending = 0;          // bytes appended since the last commit
  std::vector<io::file> sealed;  // chunks sealed since the last commit, unsynced
  bool dir_dirty = false;        // a chunk file was created since the last commit

  uint32_t chunk_id(const std::string& name) {
    auto it = chunk_ids.find(name);
    if (it != chunk_ids.end()) return it->second;
    auto id = static_cast<uint32_t>(chunks.size());
    chunks.push_back(name);
    chunk_ids.emplace(name, id);
    return id;
  }
};

}  // namespace

struct store::impl {
  std::string dir;
  bool ro = false;
  bool pinned = false;  // opened at an older version
  store_options opts;
  std::vector<tensor_state> tensors;
  std::unordered_map<std::string, size_t> by_name;
  uint64_t version = 0;
  std::vector<commit_info> infos;
  io::file log;
  uint64_t log_end = 0;  // bytes of the log consumed (read-only) or written
  std::string writer_id;
  uint64_t lock_gen = 0;
  std::function<void()> fence;
  std::optional<error> failed;
  std::optional<uint64_t> dropped;
  uint64_t pending_bytes = 0;
  uint64_t pending_samples = 0;
  std::string scratch;
  io::sync_group syncs;
  std::shared_ptr<chunk_files> files;
  mutable std::shared_ptr<const serialake::snapshot> snap;

  std::string tensor_dir(const std::string& name) const {
    return dir + "/" + format::chunk_dir + "/" + name;
  }

  void check_writable() {
    if (ro)
      throw error(errc::read_only, "dataset " + dir + " is open read-only");
    if (failed) throw error(failed->code(), "dataset " + dir + " refuses writes after an earlier failure: " + failed->message());
  }

  tensor_state& find(std::string_view name) {
    auto it = by_name.find(std::string(name));
    if (it == by_name.end())
      throw error(errc::not_found, "no tensor '" + std::string(name) + "' in " + dir);
    return tensors[it->second];
  }

  void add_tensor(const schema_tensor& st) {
    by_name.emplace(st.spec.name, tensors.size());
    tensors.emplace_back();
    tensors.back().meta = st;
    tensors.back().buf = gather_buffer(opts.write_buffer_bytes);
  }

  // Replays committed records into the in-memory index.
  void apply(const format::record& r) {
    uint64_t added = 0;
    for (auto& seg : r.segments) {
      auto it = by_name.find(seg.tensor);
      if (it == by_name.end())
        throw error(errc::corrupt, dir + "/" + format::log_file + ": version " +
                                       std::to_string(r.version) + " references unknown tensor '" +
                                       seg.tensor + "'");
      tensor_state& t = tensors[it->second];
      uint32_t cid = t.chunk_id(seg.chunk);
      uint64_t off = seg.start;
      for (auto& e : seg.entries) {
        t.index.push(index_entry{off, e.hash, e.size, cid, e.ndim});
        off += e.size;
      }
      added += seg.entries.size();
    }
    for (auto& t : tensors) t.committed = t.index.size();
    version = r.version;
    infos.push_back(commit_info{r.version, r.time_ms, r.lock_gen, r.message, added});
  }

  // The last record may reference bytes that never reached the disk (its sync
  // had not finished): true if a sample it names is missing (no file, file too
  // short) or reads back as zeros with a wrong hash, which is what a crash leaves
  // of unsynced appends. Full-length bytes with a wrong hash are damage, not a
  // torn commit: the commit stays and that sample reads as corrupt (dropping
  // the commit would hide the damage and lose its good samples).
  bool unsynced(const format::record& r) {
    for (auto& seg : r.segments) {
      if (!by_name.count(seg.tensor)) return false;  // apply() reports it
      std::shared_ptr<io::file> f;
      try {
        f = files->get(seg.tensor, seg.chunk);
      } catch (const error& e) {
        if (e.code() == errc::not_found) return true;
        throw;
      }
      uint64_t off = seg.start;
      std::string buf;
      for (auto& e : seg.entries) {
        buf.resize(e.size);
        if (!f->pread_exact(buf.data(), e.size, off)) return true;
        if (format::hash(buf.data(), e.size) != e.hash &&
            buf.find_first_not_of('\0') == std::string::npos)
          return true;
        off += e.size;
      }
    }
    return false;
  }

  void load(std::optional<uint64_t> at) {
    for (auto& st : read_schema(dir)) add_tensor(st);
    const std::string log_path = dir + "/" + format::log_file;
    if (!io::exists(log_path))
      throw error(errc::corrupt, "dataset " + dir + " has no " + format::log_file);
    log = io::file::open(log_path, ro ? O_RDONLY : O_RDWR | O_APPEND);
    log_scan scan = scan_log(log, 0, 0);
    auto& recs = scan.records;
    uint64_t keep_end = scan.valid_end;
    if (!recs.empty() && unsynced(recs.back())) {
      // Never acknowledged: its sync did not complete before the crash.
      dropped = recs.back().version;
      keep_end = scan.offsets.back();
      recs.pop_back();
    }
    if (at) {
      if (*at > recs.size())
        throw error(errc::not_found, "version " + std::to_string(*at) + " of " + dir +
                                         " does not exist (latest is " +
                                         std::to_string(recs.size()) + ")");
      recs.resize(*at);
      pinned = true;
      auto old = std::move(tensors);
      tensors.clear();
      by_name.clear();
      for (auto& t : old)
        if (t.meta.since <= *at) add_tensor(t.meta);
    }
    for (auto& r : recs) apply(r);
    log_end = keep_end;
    if (!ro && log.size() != keep_end) {
      log.truncate(keep_end);
      log.sync();
    }
  }

  // Removes chunk files no commit references: a crashed writer's unacknowledged
  // bytes. Only with the write lock held (the store is open for writing).
  void remove_orphans() {
    for (auto& t : tensors) {
      for (auto& name : io::list_dir(tensor_dir(t.meta.spec.name)))
        if (!t.chunk_ids.count(name)) io::remove_file(tensor_dir(t.meta.spec.name) + "/" + name);
    }
    io::remove_file(dir + "/" + format::schema_file + ".tmp");
  }

  void flush_buffer(tensor_state& t) {
    if (t.buf.empty()) return;
    uint64_t start = t.out_size - t.buf.size();
    uint64_t n = t.buf.size();
    t.buf.write_to(t.out);
    // Start writeback now, without waiting: the next commit's fdatasync then
    // finds little left to write instead of stalling on all of it.
    ::sync_file_range(t.out.fd(), static_cast<off_t>(start), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
  }

  void roll(tensor_state& t) {
    if (t.out) {
      flush_buffer(t);
      t.sealed.push_back(std::move(t.out));
    }
    char seq[32];
    std::snprintf(seq, sizeof seq, "-%06llu.chk", static_cast<unsigned long long>(t.next_seq++));
    std::string name = writer_id + seq;
    t.out = io::file::open(tensor_dir(t.meta.spec.name) + "/" + name, O_WRONLY | O_CREAT | O_EXCL);
    t.out_chunk = t.chunk_id(name);
    t.out_size = 0;
    t.dir_dirty = true;
  }

  // REQUIRES: `s` passed check_sample for `t`. With `take`, s.data may be moved from.
  uint64_t append_checked(tensor_state& t, sample& s, bool take) {
    if (!t.out || t.out_size >= opts.chunk_bytes) roll(t);
    const bool dims = format::stores_dims(t.meta.spec);
    const size_t dims_len = dims ? format::dims_bytes(static_cast<uint8_t>(s.shape.size())) : 0;
    const uint64_t size = dims_len + s.data.size();
    uint64_t h;
    if (dims) {
      XXH3_state_t st;
      XXH3_64bits_reset(&st);
      XXH3_64bits_update(&st, s.shape.data(), dims_len);
      XXH3_64bits_update(&st, s.data.data(), s.data.size());
      h = XXH3_64bits_digest(&st);
    } else {
      h = format::hash(s.data.data(), s.data.size());
    }
    index_entry e{t.out_size, h, static_cast<uint32_t>(size), t.out_chunk,
                  static_cast<uint8_t>(dims ? s.shape.size() : 0)};
    if (t.buf.size() + size > opts.write_buffer_bytes) flush_buffer(t);
    if (dims) t.buf.append(reinterpret_cast<const char*>(s.shape.data()), dims_len);
    if (take)
      t.buf.append(std::move(s.data));
    else
      t.buf.append(s.data.data(), s.data.size());
    t.out_size += size;
    t.pending += size;
    uint64_t idx = t.index.size();
    if (t.segs.empty() || t.segs.back().chunk != t.out_chunk)
      t.segs.push_back(pending_seg{t.out_chunk, e.offset, idx, 0});
    ++t.segs.back().count;
    t.index.push(e);
    pending_bytes += size;
    ++pending_samples;
    return idx;
  }

  void check_size(const tensor_state& t, const sample& s) {
    if (s.data.size() + 8 * s.shape.size() > 0xFFFFFFF0ull)
      throw error(errc::invalid_argument,
                  "tensor '" + t.meta.spec.name + "': a sample is limited to 4 GiB");
  }

  // True if every pending sample is still in the write buffers and they hold at
  // most one buffer's worth: the commit can then carry them in the log record.
  bool can_inline() const {
    uint64_t total = 0;
    for (auto& t : tensors) {
      if (t.segs.empty()) continue;
      if (t.buf.size() != t.pending || t.segs.size() != 1) return false;
      total += t.pending;
    }
    return total <= opts.write_buffer_bytes;
  }

  format::segment segment_of(const tensor_state& t, const pending_seg& ps, bool inlined) const {
    format::segment seg{t.meta.spec.name, inlined ? std::string() : t.chunks[ps.chunk], ps.start, {}};
    seg.entries.reserve(ps.count);
    for (uint64_t i = ps.first; i < ps.first + ps.count; ++i) {
      const index_entry& e = t.index[i];
      seg.entries.push_back(format::entry{e.size, e.ndim, e.hash});
    }
    return seg;
  }

  // Small commit: record and samples go to the log in one writev; one file to
  // sync. The samples' index entries then point into the log.
  void write_inline(format::record& r) {
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

  // Larger commit: chunk bytes first, then the record; chunks and log synced together.
  void write_chunked(format::record& r) {
    std::vector<io::file*> to_sync;
    std::vector<io::file> dirs;
    for (auto& t : tensors) {
      if (t.segs.empty()) continue;
      flush_buffer(t);
      for (auto& ps : t.segs) r.segments.push_back(segment_of(t, ps, false));
      for (auto& f : t.sealed) to_sync.push_back(&f);
      to_sync.push_back(&t.out);
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

  commit_info do_commit(const std::string& message) {
    if (fence) fence();
    const bool any = pending_samples > 0;
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
      ::ftruncate(log.fd(), static_cast<off_t>(log_end));
      throw;
    }
    if (scratch.capacity() > (4u << 20)) std::string().swap(scratch);
    for (auto& t : tensors) {
      t.committed = t.index.size();
      t.segs.clear();
      t.pending = 0;
    }
    version = r.version;
    infos.push_back(commit_info{r.version, r.time_ms, r.lock_gen, r.message, pending_samples});
    pending_bytes = pending_samples = 0;
    snap.reset();
    return infos.back();
  }
};

store::store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
store::~store() = default;

std::unique_ptr<store> store::create(const std::string& path_in, const store_options& opts) {
  const std::string path = strip_slash(path_in);
  if (path.empty()) throw error(errc::invalid_argument, "empty dataset path");
  if (io::exists(path) && !io::list_dir(path).empty())
    throw error(errc::already_exists, "cannot create dataset: " + path + " exists and is not empty");
  io::make_dirs(path + "/" + format::chunk_dir);
  write_schema(path, {});
  io::file::open(path + "/" + format::log_file, O_WRONLY | O_CREAT | O_EXCL).sync();
  io::sync_dir(path);
  open_options oo;
  oo.tuning = opts;
  return open(path, oo);
}

std::unique_ptr<store> store::open(const std::string& path_in, const open_options& opts) {
  auto i = std::make_unique<impl>();
  i->dir = strip_slash(path_in);
  i->ro = opts.read_only || opts.version.has_value();
  i->opts = opts.tuning;
  if (i->opts.chunk_bytes == 0 || i->opts.write_buffer_bytes == 0)
    throw error(errc::invalid_argument, "chunk_bytes and write_buffer_bytes must be positive");
  i->files = std::make_shared<chunk_files>(i->dir);
  i->load(opts.version);
  if (!i->ro) {
    i->writer_id = random_writer_id();
    i->remove_orphans();
  }
  return std::unique_ptr<store>(new store(std::move(i)));
}

const std::string& store::path() const noexcept { return impl_->dir; }
bool store::read_only() const noexcept { return impl_->ro; }
uint64_t store::version() const noexcept { return impl_->version; }
uint64_t store::pending_bytes() const noexcept { return impl_->pending_bytes; }
uint64_t store::pending_samples() const noexcept { return impl_->pending_samples; }
void store::set_lock_generation(uint64_t gen) noexcept { impl_->lock_gen = gen; }
void store::set_fence(std::function<void()> check) { impl_->fence = std::move(check); }
void store::fail(const error& e) {
  if (!impl_->failed) impl_->failed = e;
}
std::optional<uint64_t> store::dropped_commit() const noexcept { return impl_->dropped; }
uint64_t store::last_lock_generation() const noexcept {
  return impl_->infos.empty() ? 0 : impl_->infos.back().lock_gen;
}

std::vector<tensor_spec> store::tensors() const {
  std::vector<tensor_spec> out;
  for (auto& t : impl_->tensors) out.push_back(t.meta.spec);
  return out;
}

void store::create_tensor(const tensor_spec& spec) {
  impl_->check_writable();
  check_tensor_name(spec.name);
  if (impl_->by_name.count(spec.name))
    throw error(errc::already_exists, "tensor '" + spec.name + "' already exists in " + impl_->dir);
  if (spec.shape && is_blob(spec.type))
    throw error(errc::invalid_argument, "tensor '" + spec.name + "': a " + to_string(spec.type) +
                                            " tensor cannot have a fixed shape");
  if (spec.shape && spec.shape->size() > 32)
    throw error(errc::invalid_argument, "tensor '" + spec.name + "': more than 32 dimensions");
  io::make_dirs(impl_->tensor_dir(spec.name));
  io::sync_dir(impl_->dir + "/" + format::chunk_dir);
  std::vector<schema_tensor> all;
  for (auto& t : impl_->tensors) all.push_back(t.meta);
  all.push_back(schema_tensor{spec, impl_->version + 1});
  write_schema(impl_->dir, all);
  impl_->add_tensor(all.back());
  impl_->snap.reset();
}

uint64_t store::append(std::string_view tensor, const sample& s) {
  return append_one(tensor, const_cast<sample&>(s), false);
}

uint64_t store::append(std::string_view tensor, sample&& s) { return append_one(tensor, s, true); }

uint64_t store::append_one(std::string_view tensor, sample& s, bool take) {
  impl_->check_writable();
  tensor_state& t = impl_->find(tensor);
  check_sample(t.meta.spec, s);
  impl_->check_size(t, s);
  try {
    return impl_->append_checked(t, s, take);
  } catch (const error& e) {
    impl_->failed = e;  // the chunk may hold a partial sample: stop here
    throw;
  }
}

uint64_t store::append_row(const row& r) { return append_rows(const_cast<row*>(&r), 1, false); }

uint64_t store::append_rows(const std::vector<row>& rows) {
  return append_rows(const_cast<row*>(rows.data()), rows.size(), false);
}

uint64_t store::append_rows(std::vector<row>&& rows) {
  return append_rows(rows.data(), rows.size(), true);
}

uint64_t store::append_rows(row* rows, size_t n, bool take) {
  impl_->check_writable();
  if (n == 0) throw error(errc::invalid_argument, "no rows to append");
  std::vector<tensor_state*> ts;
  for (size_t k = 0; k < n; ++k) {
    try {
      const row& r = rows[k];
      if (r.empty()) throw error(errc::invalid_argument, "empty row");
      std::unordered_set<std::string> seen;
      for (auto& [name, s] : r) {
        if (!seen.insert(name).second)
          throw error(errc::invalid_argument, "row names tensor '" + name + "' twice");
        tensor_state& t = impl_->find(name);
        check_sample(t.meta.spec, s);
        impl_->check_size(t, s);
        ts.push_back(&t);
      }
    } catch (const error& e) {
      if (n == 1) throw;
      throw error(e.code(), "row " + std::to_string(k) + ": " + e.message());
    }
  }
  uint64_t first = 0;
  try {
    size_t at = 0;
    for (size_t k = 0; k < n; ++k)
      for (size_t i = 0; i < rows[k].size(); ++i, ++at) {
        uint64_t idx = impl_->append_checked(*ts[at], rows[k][i].second, take);
        if (k == 0 && i == 0) first = idx;
      }
  } catch (const error& e) {
    impl_->failed = e;
    throw;
  }
  return first;
}

uint64_t store::append_batch(std::string_view tensor, const std::vector<sample>& samples) {
  return append_batch(tensor, const_cast<std::vector<sample>&>(samples), false);
}

uint64_t store::append_batch(std::string_view tensor, std::vector<sample>&& samples) {
  return append_batch(tensor, samples, true);
}

uint64_t store::append_batch(std::string_view tensor, std::vector<sample>& samples, bool take) {
  impl_->check_writable();
  if (samples.empty()) throw error(errc::invalid_argument, "empty batch");
  tensor_state& t = impl_->find(tensor);
  for (size_t k = 0; k < samples.size(); ++k) {
    try {
      check_sample(t.meta.spec, samples[k]);
      impl_->check_size(t, samples[k]);
    } catch (const error& e) {
      throw error(e.code(), "batch sample " + std::to_string(k) + ": " + e.message());
    }
  }
  uint64_t first = t.index.size();
  try {
    for (auto& s : samples) impl_->append_checked(t, s, take);
  } catch (const error& e) {
    impl_->failed = e;
    throw;
  }
  return first;
}

commit_info store::commit(const std::string& message) {
  impl_->check_writable();
  try {
    return impl_->do_commit(message);
  } catch (const error& e) {
    impl_->failed = e;
    throw;
  }
}

std::vector<commit_info> store::log(bool all) const {
  if (all) return impl_->infos;
  std::vector<commit_info> out;
  for (auto& c : impl_->infos)
    if (!c.message.empty()) out.push_back(c);
  return out;
}

std::shared_ptr<const serialake::snapshot> store::snapshot() const {
  if (impl_->snap) return impl_->snap;
  std::vector<tensor_view> views;
  for (auto& t : impl_->tensors)
    views.push_back(tensor_view{t.meta.spec, t.chunks, t.index.share(), t.committed});
  impl_->snap = std::make_shared<const serialake::snapshot>(impl_->dir, impl_->version,
                                                            std::move(views), impl_->files);
  return impl_->snap;
}

std::vector<problem> store::verify() const { return snapshot()->verify(); }

bool store::refresh() {
  if (!impl_->ro || impl_->pinned) return false;
  for (auto& st : read_schema(impl_->dir))
    if (!impl_->by_name.count(st.spec.name)) impl_->add_tensor(st);
  uint64_t size = impl_->log.size();
  if (size <= impl_->log_end) {
    impl_->snap.reset();
    return false;
  }
  log_scan scan = scan_log(impl_->log, impl_->log_end, impl_->version);
  for (auto& r : scan.records) impl_->apply(r);
  impl_->log_end = scan.valid_end;
  impl_->snap.reset();
  return !scan.records.empty();
}

}  // namespace serialake
