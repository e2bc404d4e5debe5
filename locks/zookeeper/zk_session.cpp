#include "locks/zookeeper/zk_session.hpp"

#include <cerrno>
#include <cstring>

#include "serialake/error.hpp"

namespace serialake::zk {

class pending {
 public:
  std::mutex mtx;
  std::condition_variable cv;
  reply r;
  bool done = false;
  mono::time_point sent = mono::now();

  void finish(int rc) {
    {
      std::lock_guard<std::mutex> g(mtx);
      r.rc = rc;
      done = true;
    }
    cv.notify_all();
  }
};

namespace {

using ref = std::shared_ptr<pending>;

// The completion's `data`: a heap copy of the pending's shared_ptr, so a reply
// that arrives after its waiter gave up still has somewhere to go.
const void* hold(const ref& p) { return new ref(p); }
ref take(const void* data) {
  std::unique_ptr<ref> owned(static_cast<ref*>(const_cast<void*>(data)));
  return *owned;
}

void on_string_stat(int rc, const char* value, const Stat* stat, const void* data) {
  ref p = take(data);
  if (value) p->r.value = value;
  if (stat) p->r.stat = *stat;
  p->finish(rc);
}
void on_strings(int rc, const String_vector* v, const void* data) {
  ref p = take(data);
  if (v)
    for (int i = 0; i < v->count; ++i) p->r.children.emplace_back(v->data[i]);
  p->finish(rc);
}
void on_stat(int rc, const Stat* stat, const void* data) {
  ref p = take(data);
  if (stat) p->r.stat = *stat;
  p->finish(rc);
}
void on_data(int rc, const char* value, int len, const Stat* stat, const void* data) {
  ref p = take(data);
  if (value && len > 0) p->r.value.assign(value, static_cast<size_t>(len));
  if (stat) p->r.stat = *stat;
  p->finish(rc);
}
void on_void(int rc, const void* data) { take(data)->finish(rc); }

// Starts a request: `send` returns the client's immediate rc; if it is not ZOK
// the completion never runs, so the pending finishes (and its copy goes) here.
template <class F>
ref start(F&& send) {
  auto p = std::make_shared<pending>();
  const void* data = hold(p);
  if (int rc = send(data); rc != ZOK) {
    take(data);
    p->finish(rc);
  }
  return p;
}

// The server answered (as opposed to: the connection or session failed).
bool server_answered(int rc) {
  return rc == ZOK || rc == ZNONODE || rc == ZNODEEXISTS || rc == ZNOTEMPTY || rc == ZBADVERSION ||
         rc == ZNOCHILDRENFOREPHEMERALS || rc == ZNOAUTH;
}

// The C client's own log lines (connects, reconnects) would go to stderr of
// every program using the lock; errors reach callers through return codes.
void quiet(const char*) {}

int64_t ns(mono::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string describe(int rc) { return zerror(rc); }

session::session(const lock_service_uri& uri, const zookeeper_options& opts)
  : uri_(uri.text), timeout_ms_(static_cast<int>(opts.session_timeout.count())) {
  const auto started = mono::now();
  const std::string hosts = uri.host + ":" + std::to_string(uri.port);
  zh_ = zookeeper_init2(hosts.c_str(), &session::on_session, timeout_ms_.load(), nullptr, this, 0, &quiet);
  if (!zh_)
    throw error(errc::unavailable, "cannot reach ZooKeeper at " + uri_ + ": " + std::strerror(errno));
  std::unique_lock<std::mutex> g(mtx_);
  cv_.wait_until(g, started + opts.connect_timeout, [&] { return connected_ || expired_; });
  if (!connected_) {
    g.unlock();
    zookeeper_close(zh_);
    throw error(errc::unavailable, "cannot reach ZooKeeper at " + uri_ + ": no session within " +
                                       std::to_string(opts.connect_timeout.count()) + " ms");
  }
  timeout_ms_ = zoo_recv_timeout(zh_);
  confirmed_ns_ = ns(started);  // the handshake was sent after `started`
}

session::~session() { zookeeper_close(zh_); }

void session::on_session(zhandle_t* zh, int type, int state, const char* path, void* ctx) {
  static_cast<session*>(ctx)->event(zh, type, state, path);
}
void session::on_watch(zhandle_t* zh, int type, int state, const char* path, void* ctx) {
  static_cast<session*>(ctx)->event(zh, type, state, path);
}

// `zh`, not zh_: the first event may come before zookeeper_init2 returned.
void session::event(zhandle_t* zh, int type, int state, const char* path) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    ++events_;
    if (type == ZOO_SESSION_EVENT) {
      connected_ = state == ZOO_CONNECTED_STATE;
      if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) expired_ = true;
      // A reconnect renews the session on the server: about now (the margin in
      // lease_end covers the handshake's round trip).
      if (connected_) {
        timeout_ms_ = zoo_recv_timeout(zh);
        confirm(mono::now());
      }
    } else if (type == ZOO_DELETED_EVENT && path && owned_.count(path)) {
      deleted_.insert(path);
    }
  }
  cv_.notify_all();
}

void session::confirm(mono::time_point sent) {
  int64_t t = ns(sent), seen = confirmed_ns_.load();
  while (t > seen && !confirmed_ns_.compare_exchange_weak(seen, t)) {
  }
}

mono::time_point session::lease_end() const {
  const auto t = timeout();
  return mono::time_point(std::chrono::nanoseconds(confirmed_ns_.load())) + t - t / 10;
}

std::shared_ptr<pending> session::create(const std::string& path, const std::string& data, int mode) {
  return start([&](const void* d) {
    return zoo_acreate2(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), &ZOO_OPEN_ACL_UNSAFE,
                        mode, on_string_stat, d);
  });
}
std::shared_ptr<pending> session::children(const std::string& path) {
  return start([&](const void* d) { return zoo_aget_children(zh_, path.c_str(), 0, on_strings, d); });
}
std::shared_ptr<pending> session::watch_exists(const std::string& path) {
  return start([&](const void* d) {
    return zoo_awexists(zh_, path.c_str(), &session::on_watch, this, on_stat, d);
  });
}
std::shared_ptr<pending> session::get(const std::string& path) {
  return start([&](const void* d) { return zoo_aget(zh_, path.c_str(), 0, on_data, d); });
}
std::shared_ptr<pending> session::remove(const std::string& path) {
  return start([&](const void* d) { return zoo_adelete(zh_, path.c_str(), -1, on_void, d); });
}

reply session::wait(const std::shared_ptr<pending>& p, mono::time_point deadline) {
  std::unique_lock<std::mutex> g(p->mtx);
  if (!p->cv.wait_until(g, deadline, [&] { return p->done; })) {
    reply r;
    r.rc = ZOPERATIONTIMEOUT;
    return r;
  }
  p->r.answered = true;
  if (server_answered(p->r.rc)) confirm(p->sent);
  if (p->r.rc == ZSESSIONEXPIRED || p->r.rc == ZINVALIDSTATE) expired_ = true;
  return p->r;
}

uint64_t session::events() const {
  std::lock_guard<std::mutex> g(mtx_);
  return events_;
}

uint64_t session::wait_event(uint64_t seen, mono::time_point deadline) {
  std::unique_lock<std::mutex> g(mtx_);
  cv_.wait_until(g, deadline, [&] { return events_ != seen; });
  return events_;
}

void session::own(const std::string& path) {
  std::lock_guard<std::mutex> g(mtx_);
  owned_.insert(path);
}
void session::disown(const std::string& path) {
  std::lock_guard<std::mutex> g(mtx_);
  owned_.erase(path);
  deleted_.erase(path);
}
bool session::deleted(const std::string& path) const {
  std::lock_guard<std::mutex> g(mtx_);
  return deleted_.count(path) != 0;
}

}  // namespace serialake::zk
