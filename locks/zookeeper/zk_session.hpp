#pragma once
// One ZooKeeper session (a zhandle of the multithreaded C client) with bounded
// waits: every request is sent asynchronously and waited for until a deadline,
// so no caller hangs on a paused or unreachable server. It also keeps what a
// lock holder needs to judge its lock without a round trip (check()):
//  - a lease: the monotonic send time of the last request the server answered,
//    plus the negotiated session timeout. The server cannot expire the session
//    before that (it counts the timeout from the last packet it received, which
//    was sent no earlier), so until the lease ends our ephemeral znodes exist;
//  - `expired`: the server said the session expired (or auth failed);
//  - the deletion of znodes we own (a forced unlock), seen by exists-watches.
// Watches also wake waiters: wait_event() returns when any watch fired.

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "serialake/locks/zookeeper.hpp"

namespace serialake::zk {

using mono = std::chrono::steady_clock;

/// The outcome of one request.
struct reply {
  int rc = ZOK;
  std::string value;                  ///< create: the created path; get: the data
  std::vector<std::string> children;  ///< get_children
  Stat stat{};                        ///< create, exists, get
  bool answered = false;              ///< false: no answer before the deadline
};

/// A request in flight; wait() for its reply.
class pending;

/// See above. Thread-safe.
class session {
 public:
  /// Connects to uri's server; throws errc::unavailable naming the URI if no
  /// session is established within opts.connect_timeout.
  session(const lock_service_uri& uri, const zookeeper_options& opts);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Starts a request (the reply's rc says if it could not be sent).
  std::shared_ptr<pending> create(const std::string& path, const std::string& data, int mode);
  std::shared_ptr<pending> children(const std::string& path);
  /// exists, with a watch that fires on the node's creation, change or deletion.
  std::shared_ptr<pending> watch_exists(const std::string& path);
  std::shared_ptr<pending> get(const std::string& path);
  std::shared_ptr<pending> remove(const std::string& path);
  /// Waits for the reply until `deadline`; an answered request confirms the lease.
  reply wait(const std::shared_ptr<pending>& p, mono::time_point deadline);
  /// start + wait, with the default deadline (the session timeout from now).
  reply call(const std::shared_ptr<pending>& p) { return wait(p, mono::now() + timeout()); }

  /// The negotiated session timeout.
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms_.load()); }
  /// The server expired the session (or refused it): its ephemeral znodes are gone.
  bool expired() const { return expired_.load(); }
  /// The last moment our ephemeral znodes are surely alive: the lease above,
  /// less a tenth of the timeout for the difference between the clocks' rates.
  mono::time_point lease_end() const;
  /// Not to be used for new locks (expired, or a lock judged it unreliable);
  /// it closes when its last lock lets go.
  void abandon() { abandoned_ = true; }
  bool usable() const { return !expired_ && !abandoned_; }

  /// Counts watch and session events; wait_event(seen, deadline) returns the
  /// count once it differs from `seen` (or at the deadline).
  uint64_t events() const;
  uint64_t wait_event(uint64_t seen, mono::time_point deadline);

  /// Tracks deletion of a znode we own; deleted(path) says if it was seen.
  void own(const std::string& path);
  void disown(const std::string& path);
  bool deleted(const std::string& path) const;

  /// The URI, for messages.
  const std::string& uri() const { return uri_; }

 private:
  static void on_session(zhandle_t*, int type, int state, const char* path, void* ctx);
  static void on_watch(zhandle_t*, int type, int state, const char* path, void* ctx);
  void event(zhandle_t* zh, int type, int state, const char* path);
  void confirm(mono::time_point sent);

  std::string uri_;
  zhandle_t* zh_ = nullptr;
  std::atomic<int> timeout_ms_;
  std::atomic<int64_t> confirmed_ns_{0};  // mono send time of the last answered request
  std::atomic<bool> expired_{false}, abandoned_{false};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t events_ = 0;
  bool connected_ = false;
  std::set<std::string> owned_, deleted_;
};

/// Text of a ZooKeeper return code ("connection loss").
std::string describe(int rc);

}  // namespace serialake::zk
