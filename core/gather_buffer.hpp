#pragma once
// Bytes waiting to be written to one file, in order: small pieces are copied into
// one buffer, large ones are held by move, and all go out with writev. Large
// samples thus reach the page cache with one copy (the kernel's), as a plain
// write() of the caller's buffer would.

#include <sys/uio.h>

#include <string>
#include <vector>

#include "core/file_io.hpp"

namespace serialake {

/// See above. Not thread-safe.
class gather_buffer {
 public:
  /// Pieces at least this large are held instead of copied.
  static constexpr size_t hold_threshold = 2048;

  explicit gather_buffer(size_t copy_capacity) : cap_(copy_capacity) {}
  /// Copies [p, p+n).
  void append(const char* p, size_t n);
  /// Takes `s` (no copy when it is large).
  void append(std::string&& s);
  /// Bytes pending.
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Writes everything pending to `f` at its offset, then empties.
  void write_to(io::file& f);
  /// The pending pieces, in order (valid until the next change).
  const std::vector<iovec>& pieces() const noexcept { return iov_; }
  /// Empties without writing (the pieces went out another way).
  void discard() noexcept;

 private:
  void add(const char* p, size_t n);

  size_t cap_;
  std::string copies_;             // reserved once: pointers into it stay valid
  std::vector<std::string> held_;  // heap buffers survive the vector's moves
  std::vector<iovec> iov_;
  size_t size_ = 0;
};

}  // namespace serialake
