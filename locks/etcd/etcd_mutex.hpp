#pragma once
// etcd's mutex recipe, as Go's concurrency.Mutex (and so `etcdctl lock`) runs it.
//
// Keys. A lock is a key prefix `<name>/` (`etcdctl lock <name>` uses the same).
// Each contender owns one key `<name>/<lease id in lowercase hex>`, attached to
// a lease of its own, so the key vanishes when its holder stops refreshing the
// lease. The contender with the lowest create revision holds the lock; the
// others each wait for the deletion of the key just below their own, then look
// again. The create revision is the grant's fencing generation: etcd revisions
// only grow.
//
// Values. serialake stores its identity in its key's value, JSON:
//   {"kind": "writer"|"maintenance", "host": h, "pid": p, "since_ms": t}
// `etcdctl lock` writes an empty value: such a holder is shown by its key alone.
//
// A maintenance lock is a contender's key detached from its lease (a put with
// no lease, then the lease is revoked): it outlives the process, keeps its place
// (its create revision) and holds until unlock deletes it.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "locks/etcd/etcd_client.hpp"
#include "serialake/lock.hpp"

namespace serialake::etcd {

/// A contender's key as read from etcd.
struct lock_key {
  std::string key;
  int64_t create_revision = 0;
  int64_t lease = 0;  ///< 0: none (a maintenance lock)
  std::string value;
};

/// The holder a key names (an empty value: a holder that wrote no identity).
lock_holder holder_of(const lock_key& k);
/// The holder and its key, for messages.
std::string describe(const lock_key& k);

/// Every key under `prefix`, lowest create revision (the holder) first.
std::vector<lock_key> contenders(client& c, const std::string& prefix, int64_t* revision = nullptr);

/// A lease its holder keeps alive. `deadline`: until when it is surely alive on
/// the server (the send time of the last confirmed refresh + TTL - margin; etcd
/// counts its TTL from when it received the refresh, later).
struct lease {
  int64_t id = 0;
  std::chrono::seconds ttl{0};
  std::chrono::steady_clock::time_point deadline;
};
/// Grants a lease of `ttl`.
lease grant(client& c, std::chrono::seconds ttl);
/// Refreshes `l`; false if etcd no longer knows it (it expired or was revoked).
bool keep_alive(client& c, lease& l);
/// Revokes lease `id` (deleting its keys); best effort, within `timeout`.
void revoke(client& c, int64_t id, std::chrono::milliseconds timeout) noexcept;

/// A granted lock: the lease and our key.
struct taken {
  lease l;
  lock_key mine;
};

/// Takes the lock `prefix` as `kind`: a key under a new lease, then waits (per
/// s.timeout, keeping the lease alive, watching the key just below ours) until
/// ours is the lowest. Throws errc::locked naming the holder (`what` names the
/// lock in messages), errc::unavailable if etcd cannot be reached.
taken take(client& c, const std::string& prefix, const std::string& what, const lock_settings& s,
           const std::string& kind, std::chrono::seconds ttl);

}  // namespace serialake::etcd
