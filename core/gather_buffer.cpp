#include "core/gather_buffer.hpp"

namespace serialake {

void gather_buffer::add(const char* p, size_t n) {
  if (n == 0) return;
  if (!iov_.empty()) {
    auto& last = iov_.back();
    if (static_cast<const char*>(last.iov_base) + last.iov_len == p) {
      last.iov_len += n;
      size_ += n;
      return;
    }
  }
  iov_.push_back(iovec{const_cast<char*>(p), n});
  size_ += n;
}

void gather_buffer::append(const char* p, size_t n) {
  if (copies_.capacity() < cap_) copies_.reserve(cap_);
  if (copies_.size() + n > copies_.capacity()) {
    held_.emplace_back(p, n);  // rare: would move `copies_`; keep it separately
    add(held_.back().data(), n);
    return;
  }
  size_t at = copies_.size();
  copies_.append(p, n);
  add(copies_.data() + at, n);
}

void gather_buffer::append(std::string&& s) {
  if (s.size() < hold_threshold) return append(s.data(), s.size());
  held_.push_back(std::move(s));
  add(held_.back().data(), held_.back().size());
}

void gather_buffer::write_to(io::file& f) {
  if (size_ == 0) return;
  f.writev_all(iov_.data(), iov_.size());
  discard();
}

void gather_buffer::discard() noexcept {
  iov_.clear();
  held_.clear();
  copies_.clear();
  size_ = 0;
}

}  // namespace serialake
