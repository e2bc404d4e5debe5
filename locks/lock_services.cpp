#include "serialake/lock_services.hpp"

#include "serialake/error.hpp"
#include "serialake/lock_uri.hpp"
#include "serialake/locks/etcd.hpp"
#include "serialake/locks/redis.hpp"
#include "serialake/locks/zookeeper.hpp"

namespace serialake {

std::shared_ptr<lock_backend> lock_backend_for(const std::string& text) {
  const lock_service_uri uri = parse_lock_uri(text);
  if (uri.scheme == "redis") return redis_lock_backend(uri);
  if (uri.scheme == "zk") return zookeeper_lock_backend(uri);
  if (uri.scheme == "etcd") return etcd_lock_backend(uri);
  throw error(errc::invalid_argument, "lock URI '" + text + "': the " + uri.scheme +
                                          " lock service is not built into this serialake");
}

}  // namespace serialake
