#pragma once
// The Redis lock backend (library serialake_lock_redis): redis-py's Lock recipe,
// so that a Python program holding `redis.Redis(...).lock(name)` on the same key
// excludes serialake writers, and serialake excludes it. The keys it uses and
// what it asks of the server are written down in locks/redis/redis_lock.cpp.

#include <chrono>
#include <memory>

#include "serialake/lock.hpp"
#include "serialake/lock_uri.hpp"

namespace serialake {

/// Tuning of the Redis lock backend.
struct redis_options {
  /// How long connecting, and then any one command, may take before the server
  /// counts as unreachable (errc::unavailable naming the URI).
  std::chrono::milliseconds connect_timeout{2000};
  /// The key's TTL (PX) while a writer holds it; 0: lock_settings::validity
  /// (dataset_options::lock_validity, 10 s by default). The heartbeat
  /// (lock_settings::heartbeat) extends it.
  std::chrono::milliseconds ttl{0};
};

/// A backend locking datasets with keys on the Redis server `uri`
/// (redis://host[:port][/key]; no key: derived_lock_name of the dataset's
/// canonical path). Connects lazily, at the first acquire, lock, unlock or holder.
std::shared_ptr<lock_backend> redis_lock_backend(const lock_service_uri& uri, redis_options opts = {});

}  // namespace serialake
