// Opening a store: replaying commits.log into the index, telling a torn tail
// from damage (core/log_mark.hpp), and crash recovery.

#include "core/store_impl.hpp"

#include <fcntl.h>

#include <optional>

#include "core/clock.hpp"

namespace serialake {

using detail::tensor_state;

void store::impl::apply(const format::record& r) {
  uint64_t added = 0;
  for (auto& seg : r.segments) {
    auto it = by_name.find(seg.tensor);
    if (it == by_name.end())
      throw error(errc::corrupt, dir + "/" + format::log_file + ": version " +
                                     std::to_string(r.version) + " references unknown tensor '" +
                                     seg.tensor + "'");
  }
  for (auto& seg : r.segments) {
    tensor_state& t = tensors[by_name.find(seg.tensor)->second];
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

bool store::impl::unsynced(const format::record& r) {
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
    // Sizes are the record's claims (up to 4 GiB each): a sample past the file's
    // end is missing, found without allocating its claimed size.
    const uint64_t file_size = f->size();
    std::string buf;
    for (auto& e : seg.entries) {
      if (off > file_size || e.size > file_size - off) return true;  // (off + size can wrap)
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

std::optional<std::string> store::impl::judge(const log_scan& scan, bool mark_reread) {
  const std::string log_path = dir + "/" + format::log_file;
  if (scan.tail == log_tail::damaged) return scan.damage;
  if (!mark)
    return dir + "/" + format::mark_file + " is missing, so " + log_path +
           " cannot be checked against it";
  const uint64_t last = scan.records.empty() ? 0 : scan.records.back().version;
  if (scan.valid_end < mark->log_bytes || last < mark->version)
    return log_path + " ends at offset " + std::to_string(scan.valid_end) + " (version " +
           std::to_string(last) + ") but reached offset " + std::to_string(mark->log_bytes) +
           " (version " + std::to_string(mark->version) + ") when its last writer " +
           (mark->open ? "opened" : "closed") + " it: committed records are missing";
  if (scan.tail == log_tail::torn && !mark->open && !mark_reread)
    return log_path + " has " + std::to_string(scan.size - scan.valid_end) +
           " bytes after its last record (offset " + std::to_string(scan.valid_end) +
           "), but its last writer closed it cleanly: no writer could have left them";
  return std::nullopt;
}

void store::impl::load(std::optional<uint64_t> at) {
  const std::string log_path = dir + "/" + format::log_file;
  if (!io::exists(dir + "/" + format::schema_file))
    throw error(errc::not_found, "no dataset at " + dir + " (" + format::schema_file +
                                     " is missing)");
  if (!io::exists(log_path))
    throw error(errc::corrupt, "dataset " + dir + " has no " + format::log_file);
  log = io::file::open(log_path, ro ? O_RDONLY : O_RDWR | O_APPEND);
  // A writer reads the log under its flock, so that a writer that lost its lock
  // cannot append between this scan and our first commit (format.hpp: Fencing).
  std::optional<io::exclusive_flock> held;
  if (!ro) held.emplace(log, opts.log_wait);
  mark = read_mark(dir);
  log_scan scan = scan_log(log, 0, 0);
  // The schema after the log: a tensor a record names was in dataset.json
  // before the record was written, so a concurrent create_tensor cannot look
  // like a record of an unknown tensor.
  for (auto& st : read_schema(dir)) add_tensor(st);
  auto problem = judge(scan, false);
  if (problem && ro && scan.tail == log_tail::torn) {
    // A writer may have opened (and started appending) after we read the mark.
    mark = read_mark(dir);
    problem = judge(scan, true);
  }
  if (problem && !ro)
    throw error(errc::corrupt, *problem + "; nothing was changed (see `serialake repair`)");
  damage = problem;
  auto& recs = scan.records;
  // Only a record newer than the mark can be one whose sync never finished.
  const uint64_t marked = mark ? mark->version : 0;
  if (!problem && mark && mark->open && !recs.empty() && recs.back().version > marked &&
      unsynced(recs.back())) {
    dropped = recs.back().version;
    recs.pop_back();
    scan.valid_end = scan.offsets.back();
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
  log_end = scan.valid_end;
  for (size_t i = 0; i < recs.size(); ++i) {
    try {
      apply(recs[i]);
    } catch (const error& e) {
      if (!ro || e.code() != errc::corrupt) throw;
      damage = e.message();  // readers keep the commits before it
      log_end = scan.offsets[i];
      break;
    }
  }
  if (!ro) {
    // Recovery cuts, deletes and writes: only while the lock is still ours.
    if (fence) fence();
    start_session(scan.size);
  }
}

void store::impl::start_session(uint64_t log_size) {
  if (log_size != log_end) {
    log.truncate(log_end);  // the torn record of a writer that died mid-commit
    log.sync();
  }
  if (mark->open && !mark->session.empty()) remove_orphans(mark->session);
  io::remove_file(dir + "/" + format::schema_file + ".tmp");
  write_mark_now(true);
}

void store::impl::write_mark_now(bool open_session) {
  write_mark(dir, log_mark{version, log_end, writer_id, open_session, now_ms()});
}

void store::impl::remove_orphans(const std::string& session) {
  for (auto& t : tensors) {
    const std::string tdir = tensor_dir(t.meta.spec.name);
    for (auto& name : io::list_dir(tdir))
      if (!session.empty() && format::chunk_writer(name) == session && !t.chunk_ids.count(name))
        io::remove_file(tdir + "/" + name);
  }
}

}  // namespace serialake
