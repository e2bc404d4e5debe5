#pragma once
// Lock service URIs: how a program names the ZooKeeper, Redis or etcd lock of a
// dataset. Parsing only (no network code): each service's backend lives in a
// library of its own under locks/.
//
//   zk://127.0.0.1:2181/locks/photos     ZooKeeper lock path  /locks/photos
//   redis://127.0.0.1:6379/photos-lock   Redis key            photos-lock
//   etcd://127.0.0.1:2379/locks/photos   etcd key prefix      locks/photos
//
// With no path (`zk://127.0.0.1:2181`), the name derives from the dataset's
// canonical path (derived_lock_name), so every process that opens the same
// directory, by whatever relative path or symlink, contends for the same lock.

#include <cstdint>
#include <string>

namespace serialake {

/// A parsed lock service URI.
struct lock_service_uri {
  std::string text;    ///< the URI as given (for messages)
  std::string scheme;  ///< "zk", "redis" or "etcd"
  std::string host;
  uint16_t port = 0;   ///< the scheme's default port if the URI names none
  std::string name;    ///< the path after host:port without its leading '/'; empty: derive
};

/// Parses `scheme://host[:port][/name]`; throws errc::invalid_argument naming
/// what is wrong (unknown scheme, bad port, empty host, a name with "//", NUL or
/// control characters).
lock_service_uri parse_lock_uri(const std::string& uri);

/// The lock name of a dataset whose URI names none: "serialake-" followed by 16
/// hex digits of the XXH3 hash of `canonical_path` (e.g. serialake-3f9c0a1b2c3d4e5f).
/// Each backend places it as it places a given name (ZooKeeper: /serialake-…).
std::string derived_lock_name(const std::string& canonical_path);

}  // namespace serialake
