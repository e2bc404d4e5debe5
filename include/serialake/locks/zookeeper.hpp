#pragma once
// The ZooKeeper lock backend: kazoo's lock recipe (kazoo 2.8, kazoo/recipe/lock.py)
// in C++, so a Python program holding kazoo's Lock or WriteLock on the same path
// and serialake writers exclude each other. The znodes it writes are documented
// in locks/zookeeper/zk_recipe.hpp.

#include <chrono>
#include <memory>

#include "serialake/lock.hpp"
#include "serialake/lock_uri.hpp"

namespace serialake {

/// Timing of the ZooKeeper backend.
struct zookeeper_options {
  /// How long to wait for a session before failing with errc::unavailable.
  std::chrono::milliseconds connect_timeout{2000};
  /// The session timeout asked for (the server clamps it to 2-20 tickTimes);
  /// 0: lock_settings::validity (dataset_options::lock_validity, 10 s by
  /// default) of the call that opens the backend's session. A holder cut off
  /// from the server for longer gets errc::lock_lost; a holder that died
  /// releases the lock when the server expires its session.
  std::chrono::milliseconds session_timeout{0};
};

/// The lock backend for `uri` (scheme zk): the lock path is "/" + uri.name, or
/// "/" + derived_lock_name(dataset path) when the URI names none. One ZooKeeper
/// session per backend object, shared by the locks it grants.
std::shared_ptr<lock_backend> zookeeper_lock_backend(const lock_service_uri& uri, zookeeper_options opts = {});

}  // namespace serialake
