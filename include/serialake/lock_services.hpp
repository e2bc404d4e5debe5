#pragma once
// Choosing a lock backend by URI (library serialake_locks, which links the
// service backends): the file lock stays the default; a URI selects a service.

#include <memory>
#include <string>

#include "serialake/lock.hpp"

namespace serialake {

/// The backend a lock URI names, with its default options: redis://host[:port][/key]
/// (serialake/locks/redis.hpp), zk://host[:port][/path] (serialake/locks/zookeeper.hpp),
/// etcd://host[:port][/prefix] (serialake/locks/etcd.hpp). Throws errc::invalid_argument for a malformed URI
/// or a service this build does not include. Connects lazily: an unreachable
/// service fails at the first acquire with errc::unavailable naming the URI.
std::shared_ptr<lock_backend> lock_backend_for(const std::string& uri);

}  // namespace serialake
