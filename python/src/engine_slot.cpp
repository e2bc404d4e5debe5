#include "engine_slot.hpp"

#include <unistd.h>

#include <map>
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
  if (!uri || uri->empty()) return nullptr;
  // One backend per URI: a second open of an open dataset must name the same
  // backend object (engine::open), and a ZooKeeper backend is one session.
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<lock_backend>> made;
  std::lock_guard<std::mutex> g(mtx);
  auto& b = made[*uri];
  if (b) return b;
  lock_service_uri u = parse_lock_uri(*uri);
#ifdef SERIALAKE_HAS_ZOOKEEPER
  if (u.scheme == "zk") return b = zookeeper_lock_backend(u);
#endif
#ifdef SERIALAKE_HAS_ETCD
  if (u.scheme == "etcd") return b = etcd_lock_backend(u);
#endif
  made.erase(*uri);
  throw error(errc::invalid_argument, "lock " + *uri + ": this build of the module has no " + u.scheme +
                                          " lock backend");
}

}  // namespace serialake::python
