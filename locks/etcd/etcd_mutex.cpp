#include "locks/etcd/etcd_mutex.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "core/clock.hpp"
#include "core/lock_file.hpp"
#include "locks/etcd/etcd_watch.hpp"
#include "serialake/error.hpp"

namespace serialake::etcd {
namespace {

using steady = std::chrono::steady_clock;

lock_key key_of(const json& kv) {
  lock_key k;
  k.key = unb64(kv.value("key", json()));
  k.value = unb64(kv.value("value", json()));
  k.create_revision = int_field(kv, "create_revision");
  k.lease = int_field(kv, "lease");
  return k;
}

std::string hex(int64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string identity(const std::string& kind) {
  json j{{"kind", kind}, {"host", this_host()}, {"pid", static_cast<int>(::getpid())}, {"since_ms", now_ms()}};
  return j.dump();
}

// The margin kept below a lease's TTL: a tenth, at least 100 ms.
std::chrono::milliseconds margin(std::chrono::seconds ttl) {
  return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100), ttl / 10);
}

error locked(const std::string& what, const lock_key& holder, const std::string& extra = {}) {
  return error(errc::locked, what + " is locked by " + describe(holder) + extra);
}

// Revokes the lease of a contender that gives up, unless disarmed.
struct lease_guard {
  client& c;
  int64_t id;
  ~lease_guard() {
    if (id) revoke(c, id, c.options().connect_timeout);
  }
};

}  // namespace

lock_holder holder_of(const lock_key& k) {
  lock_holder h;
  h.kind = "writer";
  h.host = "? (key " + k.key + " holds no identity, as `etcdctl lock` writes)";
  json j = json::parse(k.value, nullptr, false);
  if (j.is_object() && j.value("host", json()).is_string()) {
    h.kind = j.value("kind", "writer");
    h.host = j["host"].get<std::string>();
    h.pid = j.value("pid", 0);
    h.since_ms = j.value("since_ms", int64_t{0});
  }
  h.generation = static_cast<uint64_t>(k.create_revision);
  h.alive = k.lease != 0;  // a key with a lease lives only while its holder refreshes it
  return h;
}

std::string describe(const lock_key& k) { return holder_of(k).describe() + " (etcd key " + k.key + ")"; }

std::vector<lock_key> contenders(client& c, const std::string& prefix, int64_t* revision) {
  json r = c.call("/v3/kv/range", {{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))},
                                   {"sort_target", "CREATE"}, {"sort_order", "ASCEND"}});
  if (revision) *revision = int_field(r.value("header", json::object()), "revision");
  std::vector<lock_key> out;
  for (const auto& kv : r.value("kvs", json::array())) out.push_back(key_of(kv));
  return out;
}

lease grant(client& c, std::chrono::seconds ttl) {
  const auto sent = steady::now();
  json r = c.call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}});
  lease l;
  l.id = int_field(r, "ID");
  l.ttl = std::chrono::seconds(int_field(r, "TTL"));
  if (!l.id || l.ttl.count() <= 0)
    throw error(errc::unavailable, "etcd at " + c.uri().text + " granted no lease: " + r.dump());
  l.deadline = sent + l.ttl - margin(l.ttl);
  return l;
}

bool keep_alive(client& c, lease& l) {
  const auto sent = steady::now();
  json r = c.call("/v3/lease/keepalive", {{"ID", std::to_string(l.id)}});
  // An unknown or expired lease: HTTP 200 without a TTL.
  const auto ttl = std::chrono::seconds(int_field(r, "TTL"));
  if (ttl.count() <= 0) return false;
  l.ttl = ttl;
  l.deadline = sent + ttl - margin(ttl);
  return true;
}

void revoke(client& c, int64_t id, std::chrono::milliseconds timeout) noexcept {
  try {
    c.call("/v3/lease/revoke", {{"ID", std::to_string(id)}}, timeout);
  } catch (const error&) {
    // Unreachable or already gone: the lease expires on its own.
  }
}

taken take(client& c, const std::string& prefix, const std::string& what, const lock_settings& s,
           const std::string& kind, std::chrono::seconds ttl) {
  const auto deadline = steady::now() + s.timeout;
  bool told = false;  // on_wait was called
  for (;;) {
    taken t;
    t.l = grant(c, ttl);
    lease_guard guard{c, t.l.id};
    t.mine.key = prefix + hex(t.l.id);
    t.mine.lease = t.l.id;
    t.mine.value = identity(kind);
    // As concurrency.Mutex: create our key if it does not exist (it cannot: the
    // lease is new), and read the holder in the same transaction.
    const std::string k = b64(t.mine.key);
    json first = {{"request_range", {{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))},
                                     {"sort_target", "CREATE"}, {"sort_order", "ASCEND"}, {"limit", "1"}}}};
    json put = {{"request_put", {{"key", k}, {"value", b64(t.mine.value)}, {"lease", std::to_string(t.l.id)}}}};
    json get = {{"request_range", {{"key", k}}}};
    json txn;
    txn["compare"] = json::array({json{{"target", "CREATE"}, {"key", k}, {"create_revision", "0"}}});
    txn["success"] = json::array({put, first});
    txn["failure"] = json::array({get, first});
    json r = c.call("/v3/kv/txn", txn);
    if (!r.value("succeeded", false))
      throw error(errc::internal, "etcd key " + t.mine.key + " of a new lease exists already");
    t.mine.create_revision = int_field(r.value("header", json::object()), "revision");
    const json& owner = r["responses"][1]["response_range"];
    lock_key holder = key_of(owner.value("kvs", json::array()).at(0));
    if (holder.create_revision == t.mine.create_revision) {
      guard.id = 0;
      return t;
    }
    if (s.timeout.count() <= 0) throw locked(what, holder);
    if (!told && s.on_wait) {
      told = true;
      s.on_wait(holder_of(holder));
    }
    // Wait for the key just below ours to go, then look again (it may have
    // been a waiter that gave up, not the holder).
    bool ours = true;  // our key is still there
    for (;;) {
      int64_t rev = 0;
      auto all = contenders(c, prefix, &rev);
      auto me = std::find_if(all.begin(), all.end(),
                             [&](const lock_key& x) { return x.key == t.mine.key; });
      if (me == all.end()) {
        ours = false;  // our lease expired while etcd was paused, or unlock deleted our key
        break;
      }
      if (me == all.begin()) {
        guard.id = 0;
        return t;
      }
      watch w(c, std::prev(me)->key, rev + 1);
      for (;;) {
        const auto refresh = t.l.deadline - t.l.ttl / 2;  // keep our own lease alive meanwhile
        if (w.wait_deleted(std::min(deadline, refresh)) || w.ended()) break;
        if (steady::now() >= deadline) throw locked(what, all.front());
        if (steady::now() >= refresh && !keep_alive(c, t.l)) {
          ours = false;
          break;
        }
      }
      if (!ours) break;
    }
    if (steady::now() >= deadline) {
      auto all = contenders(c, prefix);
      if (!all.empty()) throw locked(what, all.front());
    }
  }
}

}  // namespace serialake::etcd
