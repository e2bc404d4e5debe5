#include "core/commit_log.hpp"

#include <cstring>

#include "core/error.hpp"

namespace serialake {
namespace {

// True if any complete, well-formed record starts after `from`: then the bad
// bytes at `from` are damage in the middle of the log, not a torn append.
bool good_record_after(std::string_view content, size_t from) {
  char magic[4];
  std::memcpy(magic, &format::record_magic, 4);
  std::string_view needle(magic, 4);
  for (size_t pos = content.find(needle, from + 1); pos != std::string_view::npos;
       pos = content.find(needle, pos + 1)) {
    format::record r;
    size_t used = 0;
    if (format::decode(content.substr(pos), r, used) == format::decode_status::ok) return true;
  }
  return false;
}

}  // namespace

log_scan scan_log(std::string_view content, uint64_t base, uint64_t last_version,
                  const std::string& file) {
  log_scan out;
  size_t off = 0;
  while (off < content.size()) {
    format::record r;
    size_t used = 0;
    auto st = format::decode(content.substr(off), r, used);
    if (st == format::decode_status::bad && good_record_after(content, off))
      throw error(errc::corrupt, file + " is damaged at offset " + std::to_string(base + off) +
                                     " (after version " + std::to_string(last_version) +
                                     "); later commits follow it");
    if (st != format::decode_status::ok) {
      out.torn_tail = true;
      break;
    }
    if (r.version != last_version + 1)
      throw error(errc::corrupt, file + ": record at offset " + std::to_string(base + off) +
                                     " has version " + std::to_string(r.version) + ", expected " +
                                     std::to_string(last_version + 1));
    last_version = r.version;
    off += used;
    out.records.push_back(std::move(r));
  }
  out.valid_end = base + off;
  return out;
}

}  // namespace serialake
