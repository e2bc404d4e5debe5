// Opening a store: replaying commits.log into the index, and crash recovery.

#include "core/store_impl.hpp"

#include <fcntl.h>

#include "core/commit_log.hpp"

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

void store::impl::load(std::optional<uint64_t> at) {
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

void store::impl::remove_orphans() {
  for (auto& t : tensors) {
    for (auto& name : io::list_dir(tensor_dir(t.meta.spec.name)))
      if (!t.chunk_ids.count(name)) io::remove_file(tensor_dir(t.meta.spec.name) + "/" + name);
  }
  io::remove_file(dir + "/" + format::schema_file + ".tmp");
}

}  // namespace serialake
