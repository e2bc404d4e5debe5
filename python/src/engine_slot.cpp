#include "engine_slot.hpp"

#include <unistd.h>

#include <map>
#include <mutex>

#include "serialake/lock_services.hpp"

namespace serialake::python {

namespace {

std::mutex engine_mtx;
std::unique_ptr<serialake::engine> the_engine;
pid_t engine_pid = 0;

}  // namespace

serialake::engine& process_engine() {
  std::lock_guard<std::mutex> g(engine_mtx);
  if (!the_engine || engine_pid != ::getpid()) {
    // In a forked child, ~engine sees the fork and leaks its parent's state.
    the_engine = std::make_unique<serialake::engine>();
    engine_pid = ::getpid();
  }
  return *the_engine;
}

void shutdown_engine() {
  std::unique_ptr<serialake::engine> e;
  {
    std::lock_guard<std::mutex> g(engine_mtx);
    e = std::move(the_engine);
  }
}

std::shared_ptr<lock_backend> backend_for(const std::optional<std::string>& uri) {
  if (!uri || uri->empty()) return nullptr;
  // One backend per URI: a second open of an open dataset must name the same
  // backend object (engine::open), and a ZooKeeper backend is one session.
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<lock_backend>> made;
  std::lock_guard<std::mutex> g(mtx);
  auto it = made.find(*uri);
  if (it != made.end()) return it->second;
  auto b = lock_backend_for(*uri);  // throws for a refused URI: nothing is cached
  made.emplace(*uri, b);
  return b;
}

}  // namespace serialake::python
