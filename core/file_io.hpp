#pragma once
// The file layer: every system call core makes on dataset files goes through here,
// so errors become serialake::error with the file named, and tests can see each
// call (a fault hook) to fail it (EIO, ENOSPC, a short count) or to model what a
// power loss would keep of the files (tests/core/power_loss.hpp).

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <functional>
#include <string>
#include <vector>

namespace serialake::io {

/// Where a call into the file layer was made: the caller's file and line (each
/// function below takes it as a defaulted last argument), so a test can tell the
/// call sites apart. Functions of this layer that call others pass theirs on.
struct call_site {
  const char* file = "";
  int line = 0;
  static constexpr call_site here(const char* f = __builtin_FILE(),
                                  int l = __builtin_LINE()) noexcept {
    return {f, l};
  }
};

/// The system calls on dataset files that a fault hook sees, each just before
/// it is made (once per call of this layer, however many syscalls it takes).
enum class op { open, write, sync, rename, truncate, writeback, read, remove, mkdir };

/// One system call about to be made.
struct call {
  op kind;
  const std::string& path;
  const std::string* to = nullptr;  ///< rename: the new path
  int flags = 0;                    ///< open: the open(2) flags
  uint64_t bytes = 0;               ///< write, read: bytes asked for; truncate: the new size
  call_site at;
};

/// What the hook does to a call: nothing (the default); fail it with `err`
/// (e.g. EIO, ENOSPC); or give a write or read a short count: its first syscall
/// moves at most `max_bytes` (at least 1), then the layer goes on with the rest,
/// or, with `err` set too, fails (a disk that filled up partway through).
struct fault {
  int err = 0;
  uint64_t max_bytes = UINT64_MAX;
};

/// Sees every call in `op` before it is made. Called from any thread that does
/// I/O (the sync group's helpers too), so it must be thread-safe.
using fault_hook = std::function<fault(const call&)>;

/// Installs `h` (or with {} removes it) process-wide; returns the one it
/// replaces. For tests: unset, each call costs one relaxed atomic load.
fault_hook set_fault_hook(fault_hook h);

/// Installs a fault hook for its scope and puts the previous one back, also
/// when a failed assertion unwinds the test.
class fault_guard {
 public:
  explicit fault_guard(fault_hook h) : previous_(set_fault_hook(std::move(h))) {}
  ~fault_guard() { set_fault_hook(std::move(previous_)); }
  fault_guard(const fault_guard&) = delete;
  fault_guard& operator=(const fault_guard&) = delete;

 private:
  fault_hook previous_;
};

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
  static file open(const std::string& path, int flags, mode_t mode = 0644,
                   call_site at = call_site::here());

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Writes all of [data, data+n) at the current offset.
  void write_all(const void* data, size_t n, call_site at = call_site::here());
  /// Writes all the buffers, in order, at the current offset.
  void writev_all(const struct iovec* iov, size_t count, call_site at = call_site::here());
  /// Writes all of [data, data+n) at `offset` (pwrite).
  void pwrite_all(const void* data, size_t n, uint64_t offset, call_site at = call_site::here());
  /// Reads exactly n bytes at `offset`; false if the file ends first.
  bool pread_exact(void* data, size_t n, uint64_t offset, call_site at = call_site::here()) const;
  /// Reads up to n bytes at `offset`; fewer only where the file ends.
  size_t pread_upto(void* data, size_t n, uint64_t offset, call_site at = call_site::here()) const;
  /// fdatasync (fsync for a directory); throws io naming the file.
  void sync(call_site at = call_site::here());
  /// Starts writeback of [offset, offset+n) without waiting (sync_file_range);
  /// throws io if it fails, except where the file system lacks it.
  void start_writeback(uint64_t offset, uint64_t n, call_site at = call_site::here());
  /// Current size.
  uint64_t size() const;
  /// ftruncate to `n` bytes.
  void truncate(uint64_t n, call_site at = call_site::here());
  void close();

 private:
  int fd_ = -1;
  bool dir_ = false;
  std::string path_;
};

/// Whole content of a file; throws not_found / io.
std::string read_file(const std::string& path, call_site at = call_site::here());
/// Replaces `path` atomically: temp file, fsync, rename, and (with `durable`)
/// fsync of the directory. Without it the new content may be lost in a crash,
/// leaving the old one whole.
void write_file_atomic(const std::string& path, const std::string& content, bool durable = true,
                       call_site at = call_site::here());
/// fsync of a directory (makes a create/rename in it durable).
void sync_dir(const std::string& dir, call_site at = call_site::here());
/// The directory holding `path` ("." for a bare name).
std::string parent_dir(const std::string& path);
/// mkdir -p.
void make_dirs(const std::string& dir, call_site at = call_site::here());
bool exists(const std::string& path);
/// Names of the entries of `dir` (without "." and ".."); empty if it is missing.
std::vector<std::string> list_dir(const std::string& dir);
void remove_file(const std::string& path, call_site at = call_site::here());
/// rename(2). Throws io naming both paths, except for an errno listed in
/// `handled`, which it returns for the caller to handle (0: renamed).
int rename(const std::string& from, const std::string& to, std::initializer_list<int> handled = {},
           call_site at = call_site::here());

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
  void sync(const std::vector<file*>& files, call_site at = call_site::here());

 private:
  struct impl;
  impl* impl_;
};

/// Holds an exclusive flock on a file for its scope, waiting up to `wait` for it
/// (then errc::locked): serializes short critical sections between processes
/// (appending a commit record).
class exclusive_flock {
 public:
  exclusive_flock(const file& f, std::chrono::milliseconds wait);
  ~exclusive_flock();
  exclusive_flock(const exclusive_flock&) = delete;
  exclusive_flock& operator=(const exclusive_flock&) = delete;

 private:
  int fd_;
};

}  // namespace serialake::io
