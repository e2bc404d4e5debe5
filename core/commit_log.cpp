#include "core/commit_log.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "core/error.hpp"

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

// True if a complete, well-formed record starts after `from`: then the bad
// bytes at `from` are damage in the middle of the log, not a torn append.
bool good_record_after(const io::file& f, uint64_t from, uint64_t size) {
  std::string rest(size - from, '\0');
  if (!f.pread_exact(rest.data(), rest.size(), from)) return false;
  char magic[4];
  std::memcpy(magic, &format::record_magic, 4);
  std::string_view in(rest), needle(magic, 4);
  for (size_t pos = in.find(needle, 1); pos != std::string_view::npos; pos = in.find(needle, pos + 1)) {
    format::record r;
    size_t used = 0;
    if (format::decode(in.substr(pos), r, used) == format::decode_status::ok &&
        pos + used <= in.size())
      return true;
  }
  return false;
}

}  // namespace

log_scan scan_log(const io::file& log, uint64_t from, uint64_t last_version) {
  const uint64_t size = log.size();
  window w(log, size);
  log_scan out;
  uint64_t pos = from;
  while (pos < size) {
    format::record r;
    size_t used = 0;
    size_t head = format::head_size(w.view(pos, format::record_header_size));
    auto st = head ? format::decode(w.view(pos, head), r, used)
                   : (size - pos < format::record_header_size ? format::decode_status::truncated
                                                               : format::decode_status::bad);
    if (st == format::decode_status::ok && pos + used > size) st = format::decode_status::truncated;
    if (st == format::decode_status::bad && good_record_after(log, pos, size))
      throw error(errc::corrupt, log.path() + " is damaged at offset " + std::to_string(pos) +
                                     " (after version " + std::to_string(last_version) +
                                     "); later commits follow it");
    if (st != format::decode_status::ok) {
      out.torn_tail = true;
      break;
    }
    if (r.version != last_version + 1)
      throw error(errc::corrupt, log.path() + ": record at offset " + std::to_string(pos) +
                                     " has version " + std::to_string(r.version) + ", expected " +
                                     std::to_string(last_version + 1));
    last_version = r.version;
    out.offsets.push_back(pos);
    out.records.push_back(std::move(r));
    pos += used;
  }
  out.valid_end = pos;
  return out;
}

}  // namespace serialake
