#pragma once
// The etcd lock backend (library serialake_lock_etcd): etcd's own mutex recipe,
// the one `etcdctl lock` and Go's concurrency.Mutex follow, so a serialake writer
// and `etcdctl lock <prefix> -- cmd` exclude each other. The protocol and the
// keys are described in locks/etcd/etcd_mutex.hpp.
//
//   auto backend = etcd_lock_backend(parse_lock_uri("etcd://127.0.0.1:2379/locks/photos"));
//   dataset_options o;
//   o.locking = backend;

#include <chrono>
#include <memory>

#include "serialake/lock.hpp"
#include "serialake/lock_uri.hpp"

namespace serialake {

/// Timing of the etcd backend.
struct etcd_options {
  /// Bound on a TCP connect to etcd; an unreachable server fails with
  /// errc::unavailable naming the URI within it.
  std::chrono::milliseconds connect_timeout{3000};
  /// Bound on one request (a paused server fails with errc::unavailable after it).
  std::chrono::milliseconds request_timeout{5000};
  /// TTL of a writer's lease: a holder that stops refreshing it (killed, paused,
  /// cut off) loses the lock this long after its last refresh. 0: the lock's
  /// validity (lock_settings::validity, dataset_options::lock_validity) rounded
  /// up to whole seconds. etcd raises a TTL below its minimum (2 s by default).
  std::chrono::seconds ttl{0};
};

/// A backend locking datasets with etcd at `uri` (scheme "etcd"): the key prefix
/// is `uri.name`, or derived_lock_name(the dataset's canonical path) when empty.
std::shared_ptr<lock_backend> etcd_lock_backend(const lock_service_uri& uri, etcd_options opts = {});

}  // namespace serialake
