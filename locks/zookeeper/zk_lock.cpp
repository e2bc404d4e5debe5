// The ZooKeeper lock backend: contention by kazoo's recipe (zk_recipe.hpp), the
// lease and watches of one shared session (zk_session.hpp).

#include <algorithm>
#include <atomic>
#include <mutex>

#include "locks/zookeeper/zk_recipe.hpp"
#include "locks/zookeeper/zk_session.hpp"
#include "serialake/error.hpp"
#include "serialake/locks/zookeeper.hpp"

namespace serialake {
namespace {

using zk::mono;
using zk::reply;
using zk::session;

// The backend's session: made at first use, replaced once expired or abandoned.
// A lock that judges its session unreliable drops it here, so the session
// closes (taking its ephemeral znodes with it) once its last lock lets go.
// Unless the options fix it, the session timeout is the lock validity of the
// call that opens the session: the session is the lease, as a Redis or etcd
// TTL is, so dataset_options::lock_validity means the same for every service.
class session_slot {
 public:
  session_slot(lock_service_uri uri, zookeeper_options opts) : uri_(std::move(uri)), opts_(opts) {}
  std::shared_ptr<session> get(const lock_settings& s) {
    std::lock_guard<std::mutex> g(mtx_);
    if (!s_ || !s_->usable()) {
      zookeeper_options o = opts_;
      if (o.session_timeout.count() == 0) o.session_timeout = s.validity;
      s_ = std::make_shared<session>(uri_, o);
    }
    return s_;
  }
  void drop(const std::shared_ptr<session>& s) {
    s->abandon();
    std::lock_guard<std::mutex> g(mtx_);
    if (s_ == s) s_.reset();
  }
  const lock_service_uri& uri() const { return uri_; }

 private:
  std::mutex mtx_;
  lock_service_uri uri_;
  zookeeper_options opts_;
  std::shared_ptr<session> s_;
};

error unavailable(const session& z, const std::string& what, int rc) {
  return error(errc::unavailable, "ZooKeeper at " + z.uri() + ": " + what + " failed: " + zk::describe(rc));
}

// Deletes our node (a contender giving up, a lock released). Without an answer
// the session is dropped: its ephemeral node then goes with it.
void withdraw(session_slot& slot, const std::shared_ptr<session>& z, const std::string& node) {
  reply r = z->wait(z->remove(node), mono::now() + z->timeout() / 3);
  if (r.rc != ZOK && r.rc != ZNONODE) slot.drop(z);
}

// Creates `path` and its parents (persistent, empty), all requests in flight at once.
void ensure_path(session& z, const std::string& path) {
  std::vector<std::shared_ptr<zk::pending>> made;
  for (size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
    made.push_back(z.create(path.substr(0, at), "", ZOO_PERSISTENT));
    if (at == std::string::npos) break;
  }
  for (auto& p : made)
    if (reply r = z.call(p); r.rc != ZOK && r.rc != ZNODEEXISTS) {
      if (r.rc == ZBADARGUMENTS) throw error(errc::invalid_argument, "'" + path + "' is not a ZooKeeper path");
      throw unavailable(z, "creating " + path, r.rc);
    }
}

std::optional<lock_holder> read_holder(session& z, const std::string& node) {
  reply r = z.call(z.get(node));
  if (r.rc == ZNONODE) return std::nullopt;
  if (r.rc != ZOK) throw unavailable(z, "reading " + node, r.rc);
  return zk::holder_of(r.value, r.stat);
}

std::vector<zk::contender> list(session& z, const std::string& lock_path) {
  reply r = z.call(z.children(lock_path));
  if (r.rc == ZNONODE) return {};
  if (r.rc != ZOK) throw unavailable(z, "listing " + lock_path, r.rc);
  return zk::contenders(r.children);
}

struct grant {
  std::string node;  // full path
  Stat stat{};
};

// A writer's grant: its ephemeral node and the session's lease.
class zk_lock : public dataset_lock {
 public:
  zk_lock(std::shared_ptr<session_slot> slot, std::shared_ptr<session> z, grant g)
    : slot_(std::move(slot)), z_(std::move(z)), node_(std::move(g.node)),
      czxid_(static_cast<uint64_t>(g.stat.czxid)) {
    z_->own(node_);
    // A forced unlock's delete fires this watch. Not waited for: the grant
    // costs no round trip more (heartbeats re-arm it and see a node gone).
    z_->watch_exists(node_);
  }
  ~zk_lock() override { release(); }

  // czxid, or above the dataset's last recorded generation if that is higher
  // (a dataset written before under the file lock, or a new ensemble whose
  // zxids started again): commits' generations keep growing. Fencing itself
  // does not compare generations (core/format.hpp: the log's flock and end).
  uint64_t generation() const override { return std::max(czxid_, raised_.load()); }

  void raise_generation(uint64_t gen) override {
    if (gen >= generation()) raised_ = gen + 1;
  }

  // Local only: the lease, the session's state and the watch on our node.
  void check() override {
    std::lock_guard<std::mutex> g(mtx_);
    if (why_.empty()) {
      if (released_) why_ = "it was released";  // z_ is null from here
      else if (z_->expired()) why_ = "its ZooKeeper session expired";
      else if (z_->deleted(node_)) why_ = "its znode " + node_ + " was deleted (unlock --force)";
      else if (mono::now() >= z_->lease_end())
        why_ = "ZooKeeper has not answered for longer than the session timeout (" +
               std::to_string(z_->timeout().count()) + " ms): the server may have expired the session";
    }
    if (!why_.empty())
      throw error(errc::lock_lost, "the ZooKeeper lock " + node_ + " at " + slot_->uri().text + " (generation " +
                                       std::to_string(generation()) + ") was lost: " + why_ +
                                       "; nothing more can be committed");
  }

  // One round trip (bounded by a third of the session timeout): extends the
  // lease if answered, re-arms the watch on our node.
  void heartbeat() override {
    check();
    std::shared_ptr<session> z;
    {
      std::lock_guard<std::mutex> g(mtx_);
      z = z_;
    }
    if (!z) return check();
    reply r = z->wait(z->watch_exists(node_), mono::now() + z->timeout() / 3);
    if (r.rc == ZNONODE) {
      std::lock_guard<std::mutex> g(mtx_);
      why_ = "its znode " + node_ + " is gone";
    }
    check();
  }

  void release() override {
    std::shared_ptr<session> z;
    {
      std::lock_guard<std::mutex> g(mtx_);
      if (released_) return;
      released_ = true;
      z = std::move(z_);  // the session closes with its last user
    }
    z->disown(node_);
    // Past the lease the server may not answer (the engine releases a lost lock
    // under the log's flock: no waiting there): the session goes instead, and
    // with it the node, at once or when the server expires it. Otherwise the
    // node must go, or the session must, lest it block the lock forever.
    if (!z->usable() || mono::now() >= z->lease_end()) slot_->drop(z);
    else withdraw(*slot_, z, node_);
  }

 private:
  std::shared_ptr<session_slot> slot_;
  std::shared_ptr<session> z_;  // null once released
  const std::string node_;
  const uint64_t czxid_;
  std::atomic<uint64_t> raised_{0};
  std::mutex mtx_;
  bool released_ = false;
  std::string why_;  // why the lock is lost; empty while it holds
};

class zk_backend : public lock_backend {
 public:
  zk_backend(const lock_service_uri& uri, zookeeper_options opts)
    : slot_(std::make_shared<session_slot>(uri, opts)) {}

  std::unique_ptr<dataset_lock> acquire(const std::string& dir, const lock_settings& s) override {
    auto z = slot_->get(s);
    if (s.heartbeat * 3 > z->timeout())
      throw error(errc::invalid_argument, "lock heartbeat " + std::to_string(s.heartbeat.count()) +
                                              " ms is more than a third of the ZooKeeper session timeout (" +
                                              std::to_string(z->timeout().count()) + " ms) at " + slot_->uri().text);
    grant g = contend(z, dir, "writer", ZOO_EPHEMERAL_SEQUENTIAL, s);
    return std::make_unique<zk_lock>(slot_, std::move(z), std::move(g));
  }

  lock_holder lock(const std::string& dir, const lock_settings& s) override {
    auto z = slot_->get(s);
    grant g = contend(z, dir, "maintenance", ZOO_PERSISTENT_SEQUENTIAL, s);
    return zk::holder_of(zk::identifier("maintenance"), g.stat);
  }

  std::string unlock(const std::string& dir, bool force, const lock_settings& s) override {
    auto z = slot_->get(s);
    const std::string lp = lock_path(dir);
    for (const auto& c : list(*z, lp)) {  // the first that still exists holds it
      const std::string node = lp + "/" + c.name;
      auto h = read_holder(*z, node);
      if (!h) continue;
      if (h->alive && !force)
        throw locked(dir, h->describe(), ", a live process; use --force to break its lock");
      reply r = z->call(z->remove(node));
      if (r.rc != ZOK && r.rc != ZNONODE) throw unavailable(*z, "deleting " + node, r.rc);
      return h->alive ? "broke the lock of live " + h->describe() + "; its next commit fails with lock_lost"
                      : "released the lock of " + h->describe();
    }
    return "dataset " + dir + " is not locked (ZooKeeper lock " + lp + " at " + slot_->uri().text + ")";
  }

  std::optional<lock_holder> holder(const std::string& dir, const lock_settings& s) override {
    auto z = slot_->get(s);
    const std::string lp = lock_path(dir);
    for (const auto& c : list(*z, lp))
      if (auto h = read_holder(*z, lp + "/" + c.name)) return h;
    return std::nullopt;
  }

 private:
  std::string lock_path(const std::string& dir) const {
    const auto& name = slot_->uri().name;
    return "/" + (name.empty() ? derived_lock_name(dir) : name);
  }

  error locked(const std::string& dir, const std::string& holder, const std::string& extra) const {
    return error(errc::locked, "dataset " + dir + " is locked by " + holder + " (ZooKeeper lock " +
                                   lock_path(dir) + " at " + slot_->uri().text + ")" + extra);
  }

  // kazoo's Lock._inner_acquire for a writer: create our contender, then until
  // no contender comes before it, watch the predecessor and wait.
  grant contend(const std::shared_ptr<session>& z, const std::string& dir, const std::string& kind, int mode,
                const lock_settings& s) {
    const auto deadline = mono::now() + s.timeout;
    const std::string lp = lock_path(dir), prefix = lp + "/" + zk::new_node_prefix();
    const std::string data = zk::identifier(kind);
    // Create and list in one round trip: a session's requests are served in order.
    reply made, kids;
    for (bool first = true;; first = false) {
      auto c = z->create(prefix, data, mode);
      auto l = z->children(lp);
      made = z->call(c);
      kids = z->call(l);
      if (made.rc != ZNONODE || !first) break;
      ensure_path(*z, lp);
    }
    if (made.rc == ZBADARGUMENTS) throw error(errc::invalid_argument, "'" + lp + "' is not a ZooKeeper path");
    if (made.rc != ZOK) {
      // The node may exist though its reply was lost: an ephemeral one goes
      // with the dropped session; a persistent one is looked for by its prefix.
      if (mode == ZOO_PERSISTENT_SEQUENTIAL) drop_by_prefix(z, lp, prefix);
      slot_->drop(z);
      throw unavailable(*z, "creating a contender under " + lp, made.rc);
    }
    const std::string node = made.value, name = node.substr(lp.size() + 1);
    bool told = false;
    try {
      for (;;) {
        if (kids.rc != ZOK) throw unavailable(*z, "listing " + lp, kids.rc);
        auto sorted = zk::contenders(kids.children);
        auto pred = zk::predecessor(sorted, name);
        if (!pred) throw unavailable(*z, "keeping the contender " + node, z->expired() ? ZSESSIONEXPIRED : ZNONODE);
        if (pred->empty()) return grant{node, made.stat};
        if (mono::now() >= deadline || (!told && s.on_wait)) {
          auto h = read_holder(*z, lp + "/" + sorted.front().name);
          if (mono::now() >= deadline)
            throw locked(dir, h ? h->describe() : "a contender that has just let go",
                         h && !h->alive ? "; release it with `serialake unlock`" : "");
          if (h) s.on_wait(*h);
          told = true;
        }
        const uint64_t seen = z->events();
        reply w = z->call(z->watch_exists(lp + "/" + *pred));
        if (w.rc == ZOK) z->wait_event(seen, deadline);
        else if (w.rc != ZNONODE) throw unavailable(*z, "watching " + lp + "/" + *pred, w.rc);
        kids = z->call(z->children(lp));
      }
    } catch (...) {
      withdraw(*slot_, z, node);
      throw;
    }
  }

  void drop_by_prefix(const std::shared_ptr<session>& z, const std::string& lp, const std::string& prefix) {
    const std::string base = prefix.substr(lp.size() + 1);
    reply r = z->call(z->children(lp));
    for (auto& c : r.children)
      if (c.compare(0, base.size(), base) == 0) z->call(z->remove(lp + "/" + c));
  }

  std::shared_ptr<session_slot> slot_;
};

}  // namespace

std::shared_ptr<lock_backend> zookeeper_lock_backend(const lock_service_uri& uri, zookeeper_options opts) {
  if (uri.scheme != "zk")
    throw error(errc::invalid_argument, "'" + uri.text + "' is not a ZooKeeper URI (zk://host:port/path)");
  return std::make_shared<zk_backend>(uri, opts);
}

}  // namespace serialake
