#pragma once
// The file layer: every system call core makes on dataset files goes through here,
// so errors become serialake::error with the file named, and tests can inject
// failures (a failed fdatasync, a failed write) without a broken disk.

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace serialake::io {

/// Operations a fault injector can fail.
enum class op { write, sync, read };

/// Returns 0 to let the operation run, or an errno value to fail it.
using fault_injector = std::function<int(op, const std::string& path)>;

/// Installs (or with {} removes) a process-wide fault injector. For tests.
void set_fault_injector(fault_injector f);

/// An owned file descriptor that remembers its path for error messages.
class file {
 public:
  file() = default;
  file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  file(file&& o) noexcept : fd_(o.fd_), dir_(o.dir_), path_(std::move(o.path_)) { o.fd_ = -1; }
  file& operator=(file&& o) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();

  /// Opens `path` with open(2) `flags`; throws io (or not_found for ENOENT).
  static file open(const std::string& path, int flags, mode_t mode = 0644);

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Writes all of [data, data+n) at the current offset.
  void write_all(const void* data, size_t n);
  /// Writes all the buffers, in order, at the current offset.
  void writev_all(const struct iovec* iov, size_t count);
  /// Reads exactly n bytes at `offset`; false if the file ends first.
  bool pread_exact(void* data, size_t n, uint64_t offset) const;
  /// Reads up to n bytes at `offset`; fewer only where the file ends.
  size_t pread_upto(void* data, size_t n, uint64_t offset) const;
  /// fdatasync (fsync for a directory); throws io naming the file.
  void sync();
  /// Current size.
  uint64_t size() const;
  /// ftruncate to `n` bytes.
  void truncate(uint64_t n);
  void close();

 private:
  int fd_ = -1;
  bool dir_ = false;
  std::string path_;
};

/// Whole content of a file; throws not_found / io.
std::string read_file(const std::string& path);
/// Replaces `path` atomically: temp file, fsync, rename, and (with `durable`)
/// fsync of the directory. Without it the new content may be lost in a crash,
/// leaving the old one whole.
void write_file_atomic(const std::string& path, const std::string& content, bool durable = true);
/// fsync of a directory (makes a create/rename in it durable).
void sync_dir(const std::string& dir);
/// The directory holding `path` ("." for a bare name).
std::string parent_dir(const std::string& path);
/// mkdir -p.
void make_dirs(const std::string& dir);
bool exists(const std::string& path);
/// Names of the entries of `dir` (without "." and ".."); empty if it is missing.
std::vector<std::string> list_dir(const std::string& dir);
void remove_file(const std::string& path);

/// fdatasyncs several files at once, the first on the calling thread and the rest
/// on helper threads, so a commit pays one round of sync latency, not one per file.
/// Not thread-safe: one owner (the store).
class sync_group {
 public:
  sync_group();
  ~sync_group();
  sync_group(const sync_group&) = delete;
  sync_group& operator=(const sync_group&) = delete;
  /// Syncs every file; throws the first failure after all have finished.
  void sync(const std::vector<file*>& files);

 private:
  struct impl;
  impl* impl_;
};

/// Holds an exclusive flock on a file for its scope, waiting for it: serializes
/// short critical sections between processes (appending a commit record).
class exclusive_flock {
 public:
  explicit exclusive_flock(const file& f);
  ~exclusive_flock();
  exclusive_flock(const exclusive_flock&) = delete;
  exclusive_flock& operator=(const exclusive_flock&) = delete;

 private:
  int fd_;
};

}  // namespace serialake::io
