// The store's public API and its append path. Opening and recovery live in
// store_recovery.cpp, writing a commit in store_commit.cpp; the shared private
// state in store_impl.hpp.

#include "core/store.hpp"

#include <fcntl.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/clock.hpp"
#include "core/commit_log.hpp"
#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/gather_buffer.hpp"
#include "core/schema.hpp"
#include "core/store_impl.hpp"

namespace serialake {

using detail::tensor_state;

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

}  // namespace

void store::impl::flush_buffer(tensor_state& t) {
  if (t.buf.empty()) return;
  if (!t.out)  // created by its first write: a chunk whose bytes all went inline never exists
    t.out = io::file::open(tensor_dir(t.meta.spec.name) + "/" + t.out_name, O_WRONLY | O_CREAT | O_EXCL);
  uint64_t start = t.out_size - t.buf.size();
  uint64_t n = t.buf.size();
  t.buf.write_to(t.out);
  // Start writeback now, without waiting: the next commit's fdatasync then
  // finds little left to write instead of stalling on all of it.
  t.out.start_writeback(start, n);
}

void store::impl::roll(tensor_state& t) {
  if (!t.out_name.empty()) {
    flush_buffer(t);
    if (t.out) t.sealed.push_back(std::move(t.out));
    t.out = io::file();
  }
  char seq[32];
  std::snprintf(seq, sizeof seq, "-%06llu.chk", static_cast<unsigned long long>(t.next_seq++));
  t.out_name = writer_id + seq;
  t.out_chunk = t.chunk_id(t.out_name);
  t.out_size = 0;
  t.dir_dirty = true;
}

uint64_t store::impl::append_checked(tensor_state& t, sample& s, bool take) {
  if (t.out_name.empty() || t.out_size >= opts.chunk_bytes) roll(t);
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
  ++pending_samples;
  return idx;
}

void store::impl::check_size(const tensor_state& t, const sample& s) {
  if (s.data.size() + 8 * s.shape.size() > 0xFFFFFFF0ull)
    throw error(errc::invalid_argument,
                "tensor '" + t.meta.spec.name + "': a sample is limited to 4 GiB");
}

store::store(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

store::~store() {
  try {
    close();
  } catch (const error&) {
    // The mark stays "open": the next writer treats this session as crashed,
    // which loses nothing (every commit is in the log).
  }
}

void store::close() {
  if (impl_->ro || impl_->failed || impl_->closed) return;
  impl_->closed = true;
  io::exclusive_flock held(impl_->log, impl_->opts.log_wait);
  impl_->check_fence();  // a writer that lost its lock leaves the mark to the new one
  // Appends never committed are dropped: a chunk file whose first bytes are
  // uncommitted holds nothing else.
  for (auto& t : impl_->tensors)
    for (auto& ps : t.segs)
      if (ps.start == 0) io::remove_file(impl_->tensor_dir(t.meta.spec.name) + "/" + t.chunks[ps.chunk]);
  impl_->write_mark_now(false);
}

std::optional<std::string> store::damage() const { return impl_->damage; }

namespace {

// What create_tensor and create accept as a new tensor of a dataset.
void check_new_tensor(const tensor_spec& spec) {
  check_tensor_name(spec.name);
  if (spec.shape && is_blob(spec.type))
    throw error(errc::invalid_argument, "tensor '" + spec.name + "': a " + to_string(spec.type) +
                                            " tensor cannot have a fixed shape");
  if (spec.shape && spec.shape->size() > max_ndim)
    throw error(errc::invalid_argument, "tensor '" + spec.name + "': more than " +
                                            std::to_string(max_ndim) + " dimensions");
  if (spec.shape && !data_bytes(spec.type, *spec.shape))
    throw error(errc::invalid_argument,
                "tensor '" + spec.name + "': its fixed shape needs more than 2^64 bytes per sample");
}

}  // namespace

void store::initialize(const std::string& path_in, const std::vector<tensor_spec>& tensors) {
  const std::string path = strip_slash(path_in);
  if (path.empty()) throw error(errc::invalid_argument, "empty dataset path");
  std::vector<schema_tensor> schema;
  for (auto& spec : tensors) {
    check_new_tensor(spec);
    for (auto& st : schema)
      if (st.spec.name == spec.name)
        throw error(errc::invalid_argument, "tensor '" + spec.name + "' is given twice");
    schema.push_back(schema_tensor{spec, 1});
  }
  auto exists_error = [&] {
    bool dataset = io::exists(path + "/" + format::schema_file);
    return error(errc::already_exists,
                 dataset ? "a dataset already exists at " + path
                         : "cannot create dataset: " + path + " exists and is not an empty directory");
  };
  if (io::exists(path) && !io::list_dir(path).empty()) throw exists_error();
  // Built complete in a hidden sibling, then renamed into place: rename(2) onto
  // a missing path or an empty directory is atomic, and onto anything else it
  // fails, so of several concurrent creators exactly one wins.
  const std::string parent = io::parent_dir(path);
  io::make_dirs(parent);
  const std::string tmp = path + ".creating-" + random_writer_id();
  try {
    io::make_dirs(tmp + "/" + format::chunk_dir);
    for (auto& st : schema) io::make_dirs(tmp + "/" + format::chunk_dir + "/" + st.spec.name);
    write_schema(tmp, schema);
    io::file::open(tmp + "/" + format::log_file, O_WRONLY | O_CREAT | O_EXCL).sync();
    write_mark(tmp, log_mark{0, 0, "", false, now_ms()});
    for (auto& st : schema) io::sync_dir(tmp + "/" + format::chunk_dir + "/" + st.spec.name);
    io::sync_dir(tmp + "/" + format::chunk_dir);
    io::sync_dir(tmp);
    if (io::rename(tmp, path, {ENOTEMPTY, EEXIST, ENOTDIR}) != 0) throw exists_error();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    throw;
  }
  io::sync_dir(parent);
}

std::unique_ptr<store> store::create(const std::string& path, const store_options& opts,
                                     const std::vector<tensor_spec>& tensors) {
  initialize(path, tensors);
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
  i->files = std::make_shared<chunk_files>(i->dir, i->opts.open_files);
  i->fence = opts.fence;
  if (!i->ro) i->writer_id = random_writer_id();
  i->load(opts.version);
  return std::unique_ptr<store>(new store(std::move(i)));
}

const std::string& store::path() const noexcept { return impl_->dir; }
bool store::read_only() const noexcept { return impl_->ro; }
uint64_t store::version() const noexcept { return impl_->version; }
uint64_t store::pending_bytes() const noexcept {
  uint64_t n = 0;
  for (auto& t : impl_->tensors) n += t.pending;
  return n;
}
uint64_t store::pending_samples() const noexcept { return impl_->pending_samples; }
void store::set_lock_generation(uint64_t gen) noexcept { impl_->lock_gen = gen; }
void store::fail(const error& e) {
  if (!impl_->failed) impl_->failed = e;
}
std::optional<uint64_t> store::dropped_commit() const noexcept { return impl_->dropped; }
std::vector<tensor_range> store::last_commit_ranges() const {
  std::vector<tensor_range> out;
  out.reserve(impl_->last_ranges.size());
  for (auto [i, begin] : impl_->last_ranges) {
    const auto& t = impl_->tensors[i];
    out.push_back(tensor_range{t.meta.spec.name, begin, t.committed});
  }
  return out;
}

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
  check_new_tensor(spec);
  if (impl_->by_name.count(spec.name))
    throw error(errc::already_exists, "tensor '" + spec.name + "' already exists in " + impl_->dir);
  std::vector<schema_tensor> all;
  for (auto& t : impl_->tensors) all.push_back(t.meta);
  all.push_back(schema_tensor{spec, impl_->version + 1});
  try {
    // Fenced like a commit: a writer that lost its lock must not replace the
    // schema a newer holder's records rely on (format.hpp: Fencing).
    io::exclusive_flock held(impl_->log, impl_->opts.log_wait);
    impl_->check_fence();
    io::make_dirs(impl_->tensor_dir(spec.name));
    io::sync_dir(impl_->dir + "/" + format::chunk_dir);
    write_schema(impl_->dir, all);
  } catch (const error& e) {
    // As after a failed commit: the new dataset.json may be in place without
    // being durable, so nothing more is written (no silent retry).
    impl_->failed = e;
    throw;
  }
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
    views.push_back(tensor_view{t.meta.spec, t.chunks, t.index.share(), t.committed, {}});
  impl_->snap = std::make_shared<const serialake::snapshot>(
      std::make_shared<const snapshot_data>(impl_->dir, impl_->version, std::move(views), impl_->files));
  return impl_->snap;
}

std::vector<problem> store::verify() const { return snapshot()->verify(); }

bool store::refresh() {
  if (!impl_->ro || impl_->pinned) return false;
  const uint64_t size = impl_->log.size();
  if (size < impl_->log_end) {
    impl_->damage = impl_->dir + "/" + format::log_file + " shrank from " +
                    std::to_string(impl_->log_end) + " to " + std::to_string(size) +
                    " bytes: committed records are missing";
    throw error(errc::corrupt, *impl_->damage);
  }
  log_scan scan = scan_log(impl_->log, impl_->log_end, impl_->version);
  // The schema after the log, as at open: it names every tensor those records do.
  for (auto& st : read_schema(impl_->dir))
    if (!impl_->by_name.count(st.spec.name)) impl_->add_tensor(st);
  if (scan.tail == log_tail::damaged) impl_->damage = scan.damage;
  for (auto& r : scan.records) impl_->apply(r);
  impl_->log_end = scan.valid_end;
  impl_->snap.reset();
  return !scan.records.empty();
}

}  // namespace serialake
