#pragma once
// Keyspace notifications of lock keys, on a connection of their own with a thread
// that reads it. Waiters sleep until the key they wait for ends (deleted,
// expired, evicted); holders learn that their key ended, or that the connection
// broke (a stopped or restarted server may have lost the key), without a round
// trip: check() reads the counters kept here.
//
// Server requirement: notify-keyspace-events must contain K and g, x, e (or A).
// If it does not, the watch adds them with CONFIG SET; a server that refuses
// CONFIG fails with errc::unavailable saying what to set.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "locks/redis/redis_link.hpp"

namespace serialake::redis {

/// The Pub/Sub channel on which a grant of `key` is announced (its token) by the
/// script that takes the key (locks/redis/redis_lock.cpp), in the same step:
/// events of the key before the announcement are older than the grant.
std::string grants_channel(const std::string& key);

/// The watch of one server (see above). Thread-safe.
class keyspace_watch {
 public:
  /// Enables the notifications if needed (with `control`, a command connection
  /// to the same server), then reads `sub`, a connection of its own, on a thread.
  keyspace_watch(link sub, link& control);
  ~keyspace_watch();
  keyspace_watch(const keyspace_watch&) = delete;
  keyspace_watch& operator=(const keyspace_watch&) = delete;

  /// Subscribes to `key`'s keyspace channel and grants_channel(key) once;
  /// returns when the server has confirmed both (errc::unavailable after the timeout or if the connection broke).
  void subscribe(const std::string& key, std::chrono::milliseconds timeout);
  /// How many times `key` ended so far (what the socket holds is read first).
  uint64_t ends(const std::string& key);
  /// How many times `key` had ended when the grant `token` was announced on
  /// grants_channel(key): the ends before it belong to earlier holders, those
  /// after it to this grant. Waits for the announcement up to `timeout`
  /// (errc::unavailable); each announcement is claimed once.
  uint64_t ends_at_grant(const std::string& key, const std::string& token, std::chrono::milliseconds timeout);
  /// Waits until `key` has ended more than `seen` times, the connection broke or
  /// `until`; returns the count.
  uint64_t wait_end(const std::string& key, uint64_t seen, std::chrono::steady_clock::time_point until);
  /// True once the connection broke (EOF, error): every key may have been lost.
  bool broken() const;

 private:
  void run();
  void drain();  // REQUIRES: mtx_

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  link sub_;
  int wake_[2] = {-1, -1};
  bool stop_ = false;
  bool broken_ = false;
  std::set<std::string> subscribed_;  // channels
  std::map<std::string, uint64_t> ends_;
  std::map<std::string, std::string> grants_;  // grants channel -> key
  // Announced grants not yet claimed: key -> token -> ends then. Other
  // processes' grants are never claimed: the oldest go beyond 1,024.
  std::map<std::string, std::map<std::string, uint64_t>> announced_;
  std::deque<std::pair<std::string, std::string>> announced_order_;
  std::thread reader_;
};

}  // namespace serialake::redis
