#include "core/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.hpp"

namespace serialake::io {
namespace {

std::mutex injector_mtx;
std::shared_ptr<fault_injector> injector;
std::atomic<bool> injector_set{false};

int injected(op o, const std::string& path) {
  if (!injector_set.load(std::memory_order_relaxed)) return 0;
  std::shared_ptr<fault_injector> f;
  {
    std::lock_guard<std::mutex> g(injector_mtx);
    f = injector;
  }
  return f && *f ? (*f)(o, path) : 0;
}

}  // namespace

void set_fault_injector(fault_injector f) {
  std::lock_guard<std::mutex> g(injector_mtx);
  injector = f ? std::make_shared<fault_injector>(std::move(f)) : nullptr;
  injector_set.store(injector != nullptr);
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

file file::open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) throw error(errc::not_found, "no such file: " + path);
    throw_io("cannot open " + path, err);
  }
  file f(fd, path);
  f.dir_ = (flags & O_DIRECTORY) != 0;
  return f;
}

void file::write_all(const void* data, size_t n) {
  if (int err = injected(op::write, path_)) throw_io("cannot write " + path_, err);
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write " + path_, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void file::writev_all(const struct iovec* iov_in, size_t count) {
  if (int err = injected(op::write, path_)) throw_io("cannot write " + path_, err);
  std::vector<iovec> iov(iov_in, iov_in + count);
  size_t at = 0;
  while (at < iov.size()) {
    int n = static_cast<int>(std::min<size_t>(iov.size() - at, IOV_MAX));
    ssize_t w = ::writev(fd_, &iov[at], n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write " + path_, errno);
    }
    auto left = static_cast<size_t>(w);
    while (at < iov.size() && left >= iov[at].iov_len) left -= iov[at++].iov_len;
    if (left) {
      iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + left;
      iov[at].iov_len -= left;
    }
  }
}

bool file::pread_exact(void* data, size_t n, uint64_t offset) const {
  return pread_upto(data, n, offset) == n;
}

size_t file::pread_upto(void* data, size_t n, uint64_t offset) const {
  if (int err = injected(op::read, path_)) throw_io("cannot read " + path_, err);
  auto p = static_cast<char*>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read " + path_, errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void file::sync() {
  if (int err = injected(op::sync, path_)) throw_io("cannot sync " + path_, err);
  if ((dir_ ? ::fsync(fd_) : ::fdatasync(fd_)) != 0) throw_io("cannot sync " + path_, errno);
}

uint64_t file::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) throw_io("cannot stat " + path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

void file::truncate(uint64_t n) {
  if (::ftruncate(fd_, static_cast<off_t>(n)) != 0) throw_io("cannot truncate " + path_, errno);
}

std::string read_file(const std::string& path) {
  file f = file::open(path, O_RDONLY);
  std::string out(f.size(), '\0');
  if (!f.pread_exact(out.data(), out.size(), 0))
    throw error(errc::io, path + " shrank while being read");
  return out;
}

void sync_dir(const std::string& dir) {
  file::open(dir, O_RDONLY | O_DIRECTORY).sync();
}

void write_file_atomic(const std::string& path, const std::string& content, bool durable) {
  std::string tmp = path + ".tmp";
  {
    file f = file::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    f.write_all(content.data(), content.size());
    if (int err = injected(op::sync, tmp)) throw_io("cannot sync " + tmp, err);
    if (::fsync(f.fd()) != 0) throw_io("cannot sync " + tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_io("cannot rename " + tmp, errno);
  if (durable) sync_dir(parent_dir(path));
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? "." : pos == 0 ? "/" : path.substr(0, pos);
}

void make_dirs(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
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

void remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_io("cannot remove " + path, errno);
}

// One helper thread per extra file, started on first need and reused: a commit
// hands each helper one file and waits for all of them.
struct sync_group::impl {
  struct helper {
    std::thread thread;
    file* target = nullptr;
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
      lk.unlock();
      std::exception_ptr ex;
      try {
        f->sync();
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

void sync_group::sync(const std::vector<file*>& files) {
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
      impl_->helpers[i]->failure = nullptr;
      impl_->helpers[i]->busy = true;
    }
  }
  if (extra) impl_->work_cv.notify_all();
  std::exception_ptr first;
  try {
    files[0]->sync();
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

exclusive_flock::exclusive_flock(const file& f) : fd_(f.fd()) {
  while (::flock(fd_, LOCK_EX) != 0)
    if (errno != EINTR) throw_io("cannot lock " + f.path(), errno);
}

exclusive_flock::~exclusive_flock() { ::flock(fd_, LOCK_UN); }

}  // namespace serialake::io
