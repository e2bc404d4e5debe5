// `repair`: what is left of a damaged log becomes the dataset again; nothing
// is deleted, everything not kept is moved aside.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>

#include "core/clock.hpp"
#include "core/store_impl.hpp"

namespace serialake {
namespace {

// `<dir>/damaged-<UTC time>`, numbered if that exists (two repairs in a second).
std::string fresh_damage_dir(const std::string& dir) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string base = dir + "/damaged-" + stamp;
  std::string out = base;
  for (int n = 2; io::exists(out); ++n) out = base + "-" + std::to_string(n);
  io::make_dirs(out);
  return out;
}

}  // namespace

repair_report store::repair(const std::string& path) {
  open_options ro;
  ro.read_only = true;
  auto s = open(path, ro);  // a reader: the commits before any damage
  impl& i = *s->impl_;
  repair_report out;
  out.damage = i.damage;
  if (!out.damage) return out;
  out.kept_version = i.version;

  // What the lost commits held, as far as their records can still be read.
  std::map<std::string, uint64_t> lost;
  uint64_t last = i.mark ? std::max(i.mark->version, i.version) : i.version;
  uint64_t expect = i.version + 1;
  for (auto& r : salvage_records(i.log, i.log_end)) {
    if (r.version <= i.version) continue;
    if (r.version != expect) out.lost_known = false;
    expect = r.version + 1;
    last = std::max(last, r.version);
    for (auto& seg : r.segments) lost[seg.tensor] += seg.entries.size();
  }
  if (last > i.version) {
    out.lost_first = i.version + 1;
    out.lost_last = last;
    if (expect <= last) out.lost_known = false;
  }
  out.lost_samples.assign(lost.begin(), lost.end());

  // Move aside: the whole log, then every chunk file no kept commit names.
  out.moved_to = fresh_damage_dir(i.dir);
  const std::string log_path = i.dir + "/" + format::log_file;
  const std::string kept_path = out.moved_to + "/" + format::log_file + ".kept";
  {
    io::file kept = io::file::open(kept_path, O_WRONLY | O_CREAT | O_EXCL);
    std::string buf;
    for (uint64_t at = 0; at < i.log_end; at += buf.size()) {
      buf.resize(static_cast<size_t>(std::min<uint64_t>(i.log_end - at, 4 << 20)));
      if (!i.log.pread_exact(buf.data(), buf.size(), at))
        throw error(errc::io, log_path + " shrank during repair");
      kept.write_all(buf.data(), buf.size());
    }
    kept.sync();
  }
  // The damaged log is linked aside, then replaced in one rename: at no moment
  // is there no commits.log (a crash here leaves the old or the new one whole).
  // link(2) is not in the file layer's hook: repair is not fault-walked.
  if (::link(log_path.c_str(), (out.moved_to + "/" + format::log_file).c_str()) != 0)
    throw_io("cannot link " + log_path + " into " + out.moved_to, errno);
  io::rename(kept_path, log_path);
  out.moved.push_back(format::log_file);
  for (auto& t : i.tensors) {
    const std::string rel = std::string(format::chunk_dir) + "/" + t.meta.spec.name;
    for (auto& name : io::list_dir(i.dir + "/" + rel)) {
      if (format::chunk_writer(name).empty() || t.chunk_ids.count(name)) continue;
      io::make_dirs(out.moved_to + "/" + rel);
      io::rename(i.dir + "/" + rel + "/" + name, out.moved_to + "/" + rel + "/" + name);
      out.moved.push_back(rel + "/" + name);
    }
  }
  write_mark(i.dir, log_mark{i.version, i.log_end, "", false, now_ms()});
  io::sync_dir(out.moved_to);
  io::sync_dir(i.dir);
  return out;
}

}  // namespace serialake
