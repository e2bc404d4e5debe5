#include "core/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "serialake/error.hpp"

namespace serialake::io {
namespace {

std::mutex hook_mtx;
std::shared_ptr<const fault_hook> hook;
std::atomic<bool> hook_set{false};

fault ask_hook(const call& c) {
  std::shared_ptr<const fault_hook> h;
  {
    std::lock_guard<std::mutex> g(hook_mtx);
    h = hook;
  }
  return h ? (*h)(c) : fault{};
}

// What the hook wants done with a call; the relaxed load is all an unhooked
// process pays (the call is only built for a hook).
inline fault hooked(op kind, const std::string& path, call_site at, uint64_t bytes = 0,
                    int flags = 0, const std::string* to = nullptr) {
  if (!hook_set.load(std::memory_order_relaxed)) return {};
  return ask_hook(call{kind, path, to, flags, bytes, at});
}

// A write or read as the hook wants it: its first syscall moves at most
// max_bytes (at least one: a short count, not a stall); then an injected error
// fails the call (a disk that filled up partway), or else the call goes on.
// An error with no short count fails the call before anything moves.
class budget {
 public:
  // `what` ("cannot write ") and `path` name the call in an error; no string
  // is built unless one is thrown, so an unhooked call allocates nothing.
  budget(fault f, const char* what, const std::string& path) : f_(f), what_(what), path_(path) {
    if (f_.err && f_.max_bytes == UINT64_MAX) fail();
  }
  // Bytes the next syscall may move of the `n` left.
  size_t allow(size_t n) const {
    return first_ ? static_cast<size_t>(std::min<uint64_t>(n, std::max<uint64_t>(f_.max_bytes, 1))) : n;
  }
  // After each syscall that moved bytes or hit the end of the file.
  void spent() {
    if (!first_) return;
    first_ = false;
    if (f_.err) fail();
  }

 private:
  [[noreturn]] void fail() const { throw_io(what_ + path_, f_.err); }

  fault f_;
  bool first_ = true;
  const char* what_;
  const std::string& path_;
};

}  // namespace

fault_hook set_fault_hook(fault_hook h) {
  std::lock_guard<std::mutex> g(hook_mtx);
  fault_hook previous = hook ? *hook : fault_hook{};
  hook = h ? std::make_shared<const fault_hook>(std::move(h)) : nullptr;
  hook_set.store(hook != nullptr, std::memory_order_relaxed);
  return previous;
}

file& file::operator=(file&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    dir_ = o.dir_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

file::~file() { close(); }

void file::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

file file::open(const std::string& path, int flags, mode_t mode, call_site at) {
  int err = hooked(op::open, path, at, 0, flags).err;
  int fd = err ? -1 : ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    if (!err) err = errno;
    if (err == ENOENT) throw error(errc::not_found, "no such file: " + path);
    throw_io("cannot open " + path, err);
  }
  file f(fd, path);
  f.dir_ = (flags & O_DIRECTORY) != 0;
  return f;
}

void file::write_all(const void* data, size_t n, call_site at) {
  budget b(hooked(op::write, path_, at, n), "cannot write ", path_);
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, b.allow(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write " + path_, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    b.spent();
  }
}

void file::writev_all(const struct iovec* iov_in, size_t count, call_site site) {
  std::vector<iovec> iov(iov_in, iov_in + count);
  uint64_t total = 0;
  for (auto& v : iov) total += v.iov_len;
  budget b(hooked(op::write, path_, site, total), "cannot write ", path_);
  size_t at = 0;
  while (at < iov.size()) {
    // A short count: the first bytes of what is left, as iovecs of their own.
    std::vector<iovec> part;
    if (size_t allowed = b.allow(total); allowed < total) {
      for (size_t i = at; allowed > 0; ++i) {
        part.push_back(iov[i]);
        part.back().iov_len = std::min(iov[i].iov_len, allowed);
        allowed -= part.back().iov_len;
      }
    }
    const iovec* from = part.empty() ? &iov[at] : part.data();
    int n = static_cast<int>(std::min<size_t>(part.empty() ? iov.size() - at : part.size(), IOV_MAX));
    ssize_t w = ::writev(fd_, from, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write " + path_, errno);
    }
    auto left = static_cast<size_t>(w);
    total -= left;
    while (at < iov.size() && left >= iov[at].iov_len) left -= iov[at++].iov_len;
    if (left) {
      iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + left;
      iov[at].iov_len -= left;
    }
    b.spent();
  }
}

void file::pwrite_all(const void* data, size_t n, uint64_t offset, call_site at) {
  budget b(hooked(op::write, path_, at, n), "cannot write ", path_);
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd_, p, b.allow(n), static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write " + path_, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
    b.spent();
  }
}

bool file::pread_exact(void* data, size_t n, uint64_t offset, call_site at) const {
  return pread_upto(data, n, offset, at) == n;
}

size_t file::pread_upto(void* data, size_t n, uint64_t offset, call_site at) const {
  budget b(hooked(op::read, path_, at, n), "cannot read ", path_);
  auto p = static_cast<char*>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, p + got, b.allow(n - got), static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read " + path_, errno);
    }
    b.spent();
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void file::sync(call_site at) {
  if (int err = hooked(op::sync, path_, at).err) throw_io("cannot sync " + path_, err);
  if ((dir_ ? ::fsync(fd_) : ::fdatasync(fd_)) != 0) throw_io("cannot sync " + path_, errno);
}

void file::start_writeback(uint64_t offset, uint64_t n, call_site at) {
  int err = hooked(op::writeback, path_, at, n).err;
  if (!err && ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n),
                                SYNC_FILE_RANGE_WRITE) != 0)
    err = errno;
  // A file system without it only loses the head start (ENOSYS, EINVAL, ESPIPE);
  // anything else (EIO) is a failed write and the store must stop.
  if (err && err != ENOSYS && err != EINVAL && err != ESPIPE)
    throw_io("cannot start writeback of " + path_, err);
}

uint64_t file::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) throw_io("cannot stat " + path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

void file::truncate(uint64_t n, call_site at) {
  if (int err = hooked(op::truncate, path_, at, n).err) throw_io("cannot truncate " + path_, err);
  if (::ftruncate(fd_, static_cast<off_t>(n)) != 0) throw_io("cannot truncate " + path_, errno);
}

std::string read_file(const std::string& path, call_site at) {
  file f = file::open(path, O_RDONLY, 0, at);
  std::string out(f.size(), '\0');
  if (!f.pread_exact(out.data(), out.size(), 0, at))
    throw error(errc::io, path + " shrank while being read");
  return out;
}

void sync_dir(const std::string& dir, call_site at) {
  file::open(dir, O_RDONLY | O_DIRECTORY, 0, at).sync(at);
}

void write_file_atomic(const std::string& path, const std::string& content, bool durable,
                       call_site at) {
  std::string tmp = path + ".tmp";
  {
    file f = file::open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, at);
    f.write_all(content.data(), content.size(), at);
    f.sync(at);  // fdatasync covers the size too: the rename never exposes a short file
  }
  rename(tmp, path, {}, at);
  if (durable) sync_dir(parent_dir(path), at);
}

int rename(const std::string& from, const std::string& to, std::initializer_list<int> handled,
           call_site at) {
  int err = hooked(op::rename, from, at, 0, 0, &to).err;
  if (!err && ::rename(from.c_str(), to.c_str()) != 0) err = errno;
  if (!err || std::find(handled.begin(), handled.end(), err) != handled.end()) return err;
  throw_io("cannot rename " + from + " to " + to, err);
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? "." : pos == 0 ? "/" : path.substr(0, pos);
}

void make_dirs(const std::string& dir, call_site at) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (exists(cur)) continue;  // only a directory to create is a call a hook sees
    if (int err = hooked(op::mkdir, cur, at).err) throw_io("cannot create directory " + cur, err);
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw_io("cannot create directory " + cur, errno);
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

void remove_file(const std::string& path, call_site at) {
  if (int err = hooked(op::remove, path, at).err) throw_io("cannot remove " + path, err);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_io("cannot remove " + path, errno);
}

// One helper thread per extra file, started on first need and reused: a commit
// hands each helper one file and waits for all of them.
struct sync_group::impl {
  struct helper {
    std::thread thread;
    file* target = nullptr;
    call_site at;
    std::exception_ptr failure;
    bool busy = false;
  };
  std::mutex mtx;
  std::condition_variable work_cv, done_cv;
  std::vector<std::unique_ptr<helper>> helpers;
  bool stopping = false;

  void run(helper* h) {
    std::unique_lock<std::mutex> lk(mtx);
    for (;;) {
      work_cv.wait(lk, [&] { return stopping || h->busy; });
      if (!h->busy) return;
      file* f = h->target;
      call_site at = h->at;
      lk.unlock();
      std::exception_ptr ex;
      try {
        f->sync(at);
      } catch (...) {
        ex = std::current_exception();
      }
      lk.lock();
      h->failure = ex;
      h->busy = false;
      done_cv.notify_all();
    }
  }
};

sync_group::sync_group() : impl_(new impl) {}

sync_group::~sync_group() {
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  for (auto& h : impl_->helpers) h->thread.join();
  delete impl_;
}

void sync_group::sync(const std::vector<file*>& files, call_site at) {
  if (files.empty()) return;
  size_t extra = files.size() - 1;
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    while (impl_->helpers.size() < extra) {
      impl_->helpers.push_back(std::make_unique<impl::helper>());
      auto* h = impl_->helpers.back().get();
      h->thread = std::thread([this, h] { impl_->run(h); });
    }
    for (size_t i = 0; i < extra; ++i) {
      impl_->helpers[i]->target = files[i + 1];
      impl_->helpers[i]->at = at;
      impl_->helpers[i]->failure = nullptr;
      impl_->helpers[i]->busy = true;
    }
  }
  if (extra) impl_->work_cv.notify_all();
  std::exception_ptr first;
  try {
    files[0]->sync(at);
  } catch (...) {
    first = std::current_exception();
  }
  std::unique_lock<std::mutex> lk(impl_->mtx);
  impl_->done_cv.wait(lk, [&] {
    for (size_t i = 0; i < extra; ++i)
      if (impl_->helpers[i]->busy) return false;
    return true;
  });
  for (size_t i = 0; i < extra && !first; ++i) first = impl_->helpers[i]->failure;
  if (first) std::rethrow_exception(first);
}

exclusive_flock::exclusive_flock(const file& f, std::chrono::milliseconds wait) : fd_(f.fd()) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // Polled (the kernel has no flock wait with a timeout); uncontended, the first
  // try takes it.
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) throw_io("cannot lock " + f.path(), errno);
    if (std::chrono::steady_clock::now() >= deadline)
      throw error(errc::locked, f.path() + " has been held by another process for " +
                                    std::to_string(wait.count()) +
                                    " ms: a writer whose lock was broken hangs in the middle of "
                                    "a commit (it can commit nothing more; stop it)");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

exclusive_flock::~exclusive_flock() { ::flock(fd_, LOCK_UN); }

}  // namespace serialake::io
