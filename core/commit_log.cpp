#include "core/commit_log.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "serialake/error.hpp"

namespace serialake {
namespace {

constexpr size_t window_bytes = 4 << 20;

// A read-ahead window over the log: records' heads are read in big blocks, and
// their data is skipped without being read.
class window {
 public:
  window(const io::file& f, uint64_t size) : f_(f), size_(size) {}
  /// Bytes [at, at+n) clipped to the file's end.
  std::string_view view(uint64_t at, size_t n) {
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - at));
    if (at < at_ || at + n > at_ + buf_.size()) {
      buf_.resize(static_cast<size_t>(std::min<uint64_t>(std::max(n, window_bytes), size_ - at)));
      if (!f_.pread_exact(buf_.data(), buf_.size(), at)) buf_.clear();
      at_ = at;
    }
    return std::string_view(buf_).substr(static_cast<size_t>(at - at_), n);
  }

 private:
  const io::file& f_;
  uint64_t size_;
  std::string buf_;
  uint64_t at_ = 0;
};

// True if bytes [from, size) of the log are all zero: a file extended by a crash
// (its size reached the disk, its data did not) reads back as zeros.
bool all_zeros(window& w, uint64_t from, uint64_t size) {
  for (uint64_t at = from; at < size; at += window_bytes) {
    auto v = w.view(at, window_bytes);
    if (v.find_first_not_of('\0') != std::string_view::npos) return false;
  }
  return true;
}

// True if `tail` (the bytes after the last good record, which do not decode as a
// whole record) can be the beginning of one record: a torn append. Its header,
// as far as present, must be a record's header; if its header and body are
// complete the body hash must hold (only the data may be missing).
bool record_prefix(std::string_view tail, uint64_t tail_size) {
  char magic[4];
  std::memcpy(magic, &format::record_magic, 4);
  size_t n = std::min<size_t>(tail.size(), 4);
  if (tail.substr(0, n) != std::string_view(magic, n)) return false;
  if (tail.size() >= 16) {
    uint32_t reserved;
    std::memcpy(&reserved, tail.data() + 12, 4);
    if (reserved != 0) return false;
  }
  if (tail.size() < format::record_header_size) return true;
  format::record r;
  size_t used = 0;
  auto st = format::decode(tail, r, used);
  if (st == format::decode_status::bad) return false;
  if (st == format::decode_status::truncated) return true;  // inside the body
  return tail_size < used;                                    // inside the data
}

}  // namespace

log_scan scan_log(const io::file& log, uint64_t from, uint64_t last_version) {
  const uint64_t size = log.size();
  window w(log, size);
  log_scan out;
  out.size = size;
  uint64_t pos = from;
  auto damaged = [&](const std::string& what) {
    out.tail = log_tail::damaged;
    out.damage = log.path() + " is damaged at offset " + std::to_string(pos) + " (after version " +
                 std::to_string(last_version) + "): " + what;
  };
  while (pos < size) {
    format::record r;
    size_t used = 0;
    size_t head = format::head_size(w.view(pos, format::record_header_size));
    auto st = head ? format::decode(w.view(pos, head), r, used) : format::decode_status::truncated;
    if (st != format::decode_status::ok || pos + used > size) {
      // The head is at most 4 GiB + 24 bytes; only its first part matters unless it decodes.
      std::string_view tail = w.view(pos, head ? head : format::record_header_size);
      if (all_zeros(w, pos, size))
        out.tail = log_tail::torn;
      else if (record_prefix(tail, size - pos))
        out.tail = log_tail::torn;
      else
        damaged("the bytes there are not a commit record");
      break;
    }
    if (r.version != last_version + 1) {
      damaged("the record there has version " + std::to_string(r.version) + ", expected " +
              std::to_string(last_version + 1));
      break;
    }
    last_version = r.version;
    out.offsets.push_back(pos);
    out.records.push_back(std::move(r));
    pos += used;
  }
  out.valid_end = pos;
  return out;
}

std::vector<format::record> salvage_records(const io::file& log, uint64_t from) {
  std::vector<format::record> out;
  const uint64_t size = log.size();
  if (from >= size) return out;
  std::string rest(size - from, '\0');
  if (!log.pread_exact(rest.data(), rest.size(), from)) return out;
  char magic[4];
  std::memcpy(magic, &format::record_magic, 4);
  std::string_view in(rest), needle(magic, 4);
  for (size_t pos = in.find(needle); pos != std::string_view::npos;) {
    format::record r;
    size_t used = 0;
    if (format::decode(in.substr(pos), r, used) == format::decode_status::ok) {
      out.push_back(std::move(r));
      pos = in.find(needle, pos + std::min(used, in.size() - pos));
    } else {
      pos = in.find(needle, pos + 1);
    }
  }
  return out;
}

}  // namespace serialake
