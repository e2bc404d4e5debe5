// The etcd backend: a writer's grant (kept alive by the lock actor's heartbeat,
// checked locally before every commit), maintenance locks, unlock and holder.
// The recipe and the keys: etcd_mutex.hpp.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>

#include "locks/etcd/etcd_client.hpp"
#include "locks/etcd/etcd_mutex.hpp"
#include "locks/etcd/etcd_watch.hpp"
#include "serialake/error.hpp"
#include "serialake/locks/etcd.hpp"

namespace serialake {
namespace {

using steady = std::chrono::steady_clock;
using etcd::json;

// Runs `fn`, turning an answer of etcd we could not read into errc::unavailable.
template <class F>
auto guarded(const etcd::client& c, F&& fn) {
  try {
    return fn();
  } catch (const json::exception& e) {
    throw error(errc::unavailable, "etcd at " + c.uri().text + " answered unexpectedly: " + e.what());
  }
}

// A held writer lock. check() never touches the network: it reads the lost flag
// (set by the watch on our key, or by a heartbeat that found the lease or the key
// gone) and the lease deadline (refreshed by heartbeat()).
class etcd_lock final : public dataset_lock {
 public:
  etcd_lock(etcd::client_pool::handle c, etcd::taken t, std::string what)
      : c_(std::move(c)), t_(std::move(t)), what_(std::move(what)),
        deadline_(t_.l.deadline.time_since_epoch().count()) {
    start_watch();
  }
  ~etcd_lock() override { release(); }

  uint64_t generation() const override { return static_cast<uint64_t>(t_.mine.create_revision); }

  void check() override {
    if (steady::now().time_since_epoch().count() >= deadline_)
      lose("no lease refresh was confirmed within its TTL of " + std::to_string(t_.l.ttl.count()) +
           " s (etcd unreachable, paused, or this process was stopped)");
    std::lock_guard<std::mutex> g(why_mtx_);
    if (!why_.empty())
      throw error(errc::lock_lost, "the lock " + what_ + " (etcd key " + t_.mine.key + ", generation " +
                                       std::to_string(generation()) + ") was lost: " + why_ +
                                       "; nothing more can be committed");
  }

  void heartbeat() override {
    std::lock_guard<std::mutex> g(net_mtx_);
    try {
      check();
      guarded(*c_, [&] {
        if (!etcd::keep_alive(*c_, t_.l)) return lose("its lease expired or was revoked");
        // Published after the call: a check() meanwhile still sees the older deadline.
        deadline_ = t_.l.deadline.time_since_epoch().count();
        json r = c_->call("/v3/kv/range", {{"key", etcd::b64(t_.mine.key)}});
        auto kvs = r.value("kvs", json::array());
        if (kvs.empty() || etcd::int_field(kvs[0], "create_revision") != t_.mine.create_revision)
          return lose("its key was deleted (`unlock --force`?)");
        if (watch_ && watch_->ended()) start_watch();  // etcd restarted: watch anew
      });
    } catch (const error& e) {
      // Unreachable for now: retried at the next tick, until the deadline.
      if (e.code() != errc::unavailable) throw;
    }
    check();
  }

  // A no-op: etcd's revisions cannot be raised, and nothing relies on it.
  // Generations are recorded in commits for the record; the commit is fenced by
  // check() under the log's flock and the log's end (core/store_commit.cpp).
  void raise_generation(uint64_t) override {}

  void release() override {
    lose("it was released");  // at once, even while a heartbeat waits on etcd
    std::lock_guard<std::mutex> g(net_mtx_);
    if (released_) return;
    released_ = true;
    watch_.reset();
    // Deletes our key. Unreachable etcd: the lease expires on its own.
    etcd::revoke(*c_, t_.l.id, std::min(c_->options().connect_timeout, c_->options().request_timeout));
  }

 private:
  void lose(const std::string& why) {
    std::lock_guard<std::mutex> g(why_mtx_);
    if (why_.empty()) why_ = why;
  }
  // REQUIRES: net_mtx_ held, or construction.
  void start_watch() {
    watch_.reset();
    watch_ = std::make_unique<etcd::watch>(*c_, t_.mine.key, t_.mine.create_revision + 1,
                                           [this] { lose("its key was deleted (`unlock --force`?)"); });
  }

  etcd::client_pool::handle c_;  // guarded by net_mtx_
  etcd::taken t_;                    // t_.l guarded by net_mtx_
  const std::string what_;
  std::atomic<steady::rep> deadline_;  // t_.l.deadline, for check()
  std::mutex why_mtx_;                 // never held across a network call
  std::string why_;                    // why the lock was lost ("": held)
  std::mutex net_mtx_;
  std::unique_ptr<etcd::watch> watch_;
  bool released_ = false;
};

class etcd_backend final : public lock_backend {
 public:
  etcd_backend(lock_service_uri uri, etcd_options opts)
      : uri_(std::move(uri)), opts_(opts), pool_(std::make_shared<etcd::client_pool>(uri_, opts)) {
    if (uri_.scheme != "etcd")
      throw error(errc::invalid_argument, "not an etcd lock URI: " + uri_.text);
  }

  std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) override {
    auto c = pool_->get();
    auto t = take(*c, path, s, "writer");
    return std::make_unique<etcd_lock>(std::move(c), std::move(t), what(path));
  }

  lock_holder lock(const std::string& path, const lock_settings& s) override {
    auto h = pool_->get();
    etcd::client& c = *h;
    auto t = take(c, path, s, "maintenance");
    return guarded(c, [&] {
      // Detach our key from its lease (a put without one), only while it is ours.
      const std::string k = etcd::b64(t.mine.key);
      json txn;
      txn["compare"] = json::array({json{{"target", "CREATE"}, {"key", k},
                                         {"create_revision", std::to_string(t.mine.create_revision)}}});
      txn["success"] = json::array({json{{"request_put", {{"key", k}, {"value", etcd::b64(t.mine.value)}}}}});
      json r = c.call("/v3/kv/txn", txn);
      etcd::revoke(c, t.l.id, opts_.request_timeout);
      if (!r.value("succeeded", false))
        throw error(errc::locked, what(path) + ": our key " + t.mine.key + " vanished before the maintenance "
                                  "lock was made permanent (its lease expired?); try again");
      t.mine.lease = 0;
      return etcd::holder_of(t.mine);
    });
  }

  std::string unlock(const std::string& path, bool force, const lock_settings&) override {
    auto conn = pool_->get();
    etcd::client& c = *conn;
    return guarded(c, [&]() -> std::string {
      auto all = etcd::contenders(c, prefix(path));
      if (all.empty()) return what(path) + " is not locked";
      const etcd::lock_key& h = all.front();
      if (h.lease && !force)
        throw error(errc::locked, what(path) + " is locked by live " + etcd::describe(h) +
                                      " (its lease is kept alive); use --force to break it");
      // Delete that grant only: a newer one may have replaced it meanwhile.
      json txn;
      txn["compare"] = json::array({json{{"target", "CREATE"}, {"key", etcd::b64(h.key)},
                                         {"create_revision", std::to_string(h.create_revision)}}});
      txn["success"] = json::array({json{{"request_delete_range", {{"key", etcd::b64(h.key)}}}}});
      if (!c.call("/v3/kv/txn", txn).value("succeeded", false)) return what(path) + ": its holder let go meanwhile";
      if (h.lease) return "broke the lock of live " + etcd::describe(h) + "; its next commit fails with lock_lost";
      return "released the lock of " + etcd::describe(h);
    });
  }

  std::optional<lock_holder> holder(const std::string& path, const lock_settings&) override {
    auto h = pool_->get();
    etcd::client& c = *h;
    return guarded(c, [&]() -> std::optional<lock_holder> {
      auto all = etcd::contenders(c, prefix(path));
      if (all.empty()) return std::nullopt;
      return etcd::holder_of(all.front());
    });
  }

 private:
  etcd::taken take(etcd::client& c, const std::string& path, const lock_settings& s, const std::string& kind) {
    // The lease must outlive a missed heartbeat: at least two per TTL.
    const auto ttl = opts_.ttl.count() > 0 ? opts_.ttl : std::chrono::ceil<std::chrono::seconds>(s.validity);
    if (s.heartbeat * 2 > ttl)
      throw error(errc::invalid_argument, "lock heartbeat of " + std::to_string(s.heartbeat.count()) +
                                              " ms is too slow for an etcd lease TTL of " +
                                              std::to_string(ttl.count()) + " s (at most half of it)");
    return guarded(c, [&] { return etcd::take(c, prefix(path), what(path), s, kind, ttl); });
  }

  // The key prefix: the URI's name, or one derived from the dataset's canonical path.
  std::string prefix(const std::string& path) const {
    if (!uri_.name.empty()) return uri_.name + "/";
    std::error_code ec;
    auto canon = std::filesystem::weakly_canonical(path, ec);
    return derived_lock_name(ec ? path : canon.string()) + "/";
  }
  std::string what(const std::string& path) const {
    return "dataset " + path + " (etcd lock " + uri_.text + ", prefix " + prefix(path) + ")";
  }

  lock_service_uri uri_;
  etcd_options opts_;
  std::shared_ptr<etcd::client_pool> pool_;
};

}  // namespace

std::shared_ptr<lock_backend> etcd_lock_backend(const lock_service_uri& uri, etcd_options opts) {
  return std::make_shared<etcd_backend>(uri, opts);
}

}  // namespace serialake
