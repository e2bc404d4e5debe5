#include "core/chunk_files.hpp"

#include <fcntl.h>
#include <pthread.h>

#include <set>
#include <vector>

#include "serialake/error.hpp"
#include "core/format.hpp"

namespace serialake {

namespace {

// Fork safety: a snapshot stays readable in a forked child (a DataLoader
// worker). fork() copies a mutex in whatever state another thread had it, so
// the fork handlers hold every cache's mutex across the fork (as glibc does for
// malloc's): the child's copies are then consistent, and released in both.
struct registry {
  std::mutex mtx;
  std::set<std::mutex*> caches;  // each cache's mutex, while the cache lives
  registry() {
    pthread_atfork([] { get().lock_all(); }, [] { get().unlock_all(); }, [] { get().unlock_all(); });
  }
  static registry& get() {
    static registry* r = new registry;  // never destroyed: fork may come during exit
    return *r;
  }
  void lock_all() {
    mtx.lock();
    for (auto* m : caches) m->lock();
  }
  void unlock_all() {
    for (auto* m : caches) m->unlock();
    mtx.unlock();
  }
};

}  // namespace

chunk_files::chunk_files(std::string dir, size_t capacity)
  : dir_(std::move(dir)), capacity_(capacity) {
  if (capacity_ == 0) throw error(errc::invalid_argument, "the open file cache needs a capacity of at least 1");
  auto& r = registry::get();
  std::lock_guard<std::mutex> g(r.mtx);
  r.caches.insert(&mtx_);
}

chunk_files::~chunk_files() {
  auto& r = registry::get();
  std::lock_guard<std::mutex> g(r.mtx);
  r.caches.erase(&mtx_);
}

std::string chunk_files::path(const std::string& tensor, const std::string& name) const {
  if (name.empty()) return dir_ + "/" + format::log_file;  // samples inlined in the log
  return dir_ + "/" + format::chunk_dir + "/" + tensor + "/" + name;
}

size_t chunk_files::cached() const {
  std::lock_guard<std::mutex> g(mtx_);
  return open_.size();
}

std::shared_ptr<io::file> chunk_files::get(const std::string& tensor, const std::string& name) {
  // Built in a per-thread string that keeps its capacity: a hit allocates
  // nothing (snapshot::read_into promises no allocation).
  thread_local std::string key;
  if (name.empty()) {
    key = format::log_file;
  } else {
    key.assign(tensor).append(1, '/').append(name);
  }
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (auto it = open_.find(key); it != open_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.recent);
      return it->second.file;
    }
  }
  // Opened without the mutex: open(2) can be slow (a cold directory, a network
  // file system) and must not stall readers of files already open. Two threads
  // missing the same file both open it; the second one's copy is dropped below.
  auto f = std::make_shared<io::file>(io::file::open(path(tensor, name), O_RDONLY));
  std::vector<std::shared_ptr<io::file>> evicted;  // closed after the mutex is released
  std::lock_guard<std::mutex> g(mtx_);
  if (auto it = open_.find(key); it != open_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
    return it->second.file;
  }
  recent_.push_front(key);
  open_.emplace(key, slot{f, recent_.begin()});
  while (open_.size() > capacity_) {
    auto victim = open_.find(recent_.back());
    evicted.push_back(std::move(victim->second.file));
    open_.erase(victim);
    recent_.pop_back();
  }
  return f;
}

}  // namespace serialake
