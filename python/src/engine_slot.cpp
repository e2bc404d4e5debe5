#include "engine_slot.hpp"

#include <unistd.h>

#include <mutex>

#include "serialake/lock_uri.hpp"
#ifdef SERIALAKE_HAS_ZOOKEEPER
#include "serialake/locks/zookeeper.hpp"
#endif
#ifdef SERIALAKE_HAS_ETCD
#include "serialake/locks/etcd.hpp"
#endif

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
  if (!uri || uri->empty()) return file_lock_backend();
  lock_service_uri u = parse_lock_uri(*uri);
#ifdef SERIALAKE_HAS_ZOOKEEPER
  if (u.scheme == "zk") return zookeeper_lock_backend(u);
#endif
#ifdef SERIALAKE_HAS_ETCD
  if (u.scheme == "etcd") return etcd_lock_backend(u);
#endif
  throw error(errc::invalid_argument, "lock " + *uri + ": this build of the module has no " + u.scheme +
                                          " lock backend");
}

}  // namespace serialake::python
