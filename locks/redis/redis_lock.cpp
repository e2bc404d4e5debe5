// The Redis lock backend: redis-py 4.3's Lock recipe, plus what serialake needs
// beside it (holder identity, a fencing generation, waiting on notifications).
//
// Keys (database 0), for a lock named K (the URI's key, or derived_lock_name of
// the dataset's canonical path):
//   K              the lock itself, as redis-py's Lock keeps it: a 32-hex-digit
//                  token, SET K token NX PX ttl by a writer (no PX: a maintenance
//                  lock, held until unlock), inside acquire_script; released and
//                  extended only by compare-token scripts (release_script,
//                  extend_script). A redis-py Lock("K") and serialake exclude
//                  each other.
//   K:holder       who holds it, JSON written in the same script, with the
//                  same TTL: {"kind": "writer"|"maintenance", "host": h, "pid": p,
//                  "since_ms": t, "token": token}; the token ties it to the grant
//                  of K (a K without a matching K:holder is another client's,
//                  e.g. redis-py's).
//   K:generation   the fencing generation: INCR after every serialake grant
//                  (no TTL; it must outlive the locks).
// and the Pub/Sub channel K:grants, on which acquire_script publishes the
// grant's token: keyspace events of K before it are older than
// the grant (a lazy expiry during our own SET, an earlier holder's DEL), those
// after it end the grant.
//
// Lease. A writer's grant lasts the TTL (redis_options::ttl, by default
// lock_settings::validity, 10 s) from its SET, each heartbeat's extend restarts
// it. The holder keeps its own deadline on the monotonic clock: the time it
// *sent* the last confirmed SET or extend, plus the TTL, minus a tenth of it; the
// server's key lives at least that long, as the server started counting later.
// check() (before every commit) makes no round trip: it fails once that deadline
// passed, once a keyspace notification said K ended (deleted, expired, evicted)
// or once the notification connection broke (a stopped or restarted server may
// have lost K). A writer cut off from a paused server thus stops committing
// before the server can expire its key and grant it to another.

#include "serialake/locks/redis.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>

#include "core/clock.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/lock_file.hpp"
#include "locks/redis/keyspace_watch.hpp"
#include "locks/redis/redis_link.hpp"
#include "serialake/error.hpp"

namespace serialake {
namespace {

using redis::reply;

// redis-py's LUA_RELEASE_SCRIPT, also deleting K:holder.
// KEYS: K, K:holder; ARGV: token. 1: released; 0: not ours.
const char* release_script = R"(
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
  return 0
end
redis.call('del', KEYS[1], KEYS[2])
return 1
)";

// redis-py's LUA_EXTEND_SCRIPT with replace_ttl (ARGV[3] "1"), also extending
// K:holder. KEYS: K, K:holder; ARGV: token, ttl ms. 1: extended; 0: not ours.
const char* extend_script = R"(
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
  return 0
end
local expiration = redis.call('pttl', KEYS[1])
if not expiration then
  expiration = 0
end
if expiration < 0 then
  return 0
end
redis.call('pexpire', KEYS[1], ARGV[2])
redis.call('pexpire', KEYS[2], ARGV[2])
return 1
)";

// Acquire: redis-py's SET K token NX PX ttl (no PX: a maintenance lock) and, if
// it took the key, in the same atomic step: INCR K:generation, K:holder written,
// the grant announced on K:grants (keyspace_watch::ends_at_grant). One script, so
// no K ever exists without its holder record and generation, and acquire is one
// round trip. KEYS: K, K:holder, K:generation; ARGV: token, holder JSON, ttl ms
// ("0": none), grants channel. The generation, or 0: K is held.
const char* acquire_script = R"(
local took
if ARGV[3] ~= '0' then
  took = redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3])
else
  took = redis.call('set', KEYS[1], ARGV[1], 'NX')
end
if not took then
  return 0
end
local gen = redis.call('incr', KEYS[3])
if ARGV[3] ~= '0' then
  redis.call('set', KEYS[2], ARGV[2], 'px', ARGV[3])
else
  redis.call('set', KEYS[2], ARGV[2])
end
redis.call('publish', ARGV[4], ARGV[1])
return gen
)";

// raise_generation: K:generation becomes max(it, ARGV[2]) + 1, if K is ours.
// KEYS: K, K:generation; ARGV: token, generation. The new generation, or 0.
const char* raise_script = R"(
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
local gen = tonumber(redis.call('get', KEYS[2]) or '0')
local floor = tonumber(ARGV[2])
if gen < floor then
  redis.call('set', KEYS[2], ARGV[2])
end
return redis.call('incr', KEYS[2])
)";

std::string random_token() {  // 32 hex digits, as uuid1().hex
  unsigned char b[16];
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) throw_io("getrandom for a lock token", errno);
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (unsigned char c : b) t += {hex[c >> 4], hex[c & 15]};
  return t;
}

std::vector<std::string> eval(const char* script, std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<std::string> cmd{"EVAL", script, std::to_string(keys.size())};
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

// The holder named by MGET K K:holder K:generation (nullopt: K is not set).
std::optional<lock_holder> holder_of(const redisReply* mget) {
  const std::string token = redis::text(mget->element[0]);
  if (mget->element[0]->type == REDIS_REPLY_NIL) return std::nullopt;
  lock_holder h;
  h.alive = true;  // K lives: a dead writer's key expires
  try {
    auto j = nlohmann::json::parse(redis::text(mget->element[1]));
    if (j.at("token").get<std::string>() == token) {
      h.kind = j.at("kind").get<std::string>();
      h.host = j.at("host").get<std::string>();
      h.pid = j.at("pid").get<int>();
      h.since_ms = j.at("since_ms").get<int64_t>();
      h.generation = std::stoull("0" + redis::text(mget->element[2]));
      return h;
    }
  } catch (const std::exception&) {
    // No record of ours (redis-py, or not yet written): an unknown holder.
  }
  h.kind = "unknown";
  h.host = "a client without a serialake holder record (e.g. redis-py's Lock), token " + token;
  return h;
}

class redis_backend;

// A writer's grant (see the lease above).
class redis_lock : public dataset_lock {
 public:
  redis_lock(std::shared_ptr<redis_backend> b, std::string key, std::string token, uint64_t gen,
             std::chrono::milliseconds ttl, std::chrono::steady_clock::time_point sent,
             std::shared_ptr<redis::keyspace_watch> w, std::chrono::milliseconds wait)
    : b_(std::move(b)), key_(std::move(key)), token_(std::move(token)), gen_(gen), ttl_(ttl),
      deadline_(sent + ttl - ttl / 10), watch_(std::move(w)), wait_(wait) {}
  ~redis_lock() override { release(); }
  uint64_t generation() const override {
    std::lock_guard<std::mutex> g(mtx_);
    return gen_;
  }
  void check() override {
    std::lock_guard<std::mutex> g(mtx_);
    check_locked();
  }
  void heartbeat() override;
  void raise_generation(uint64_t gen) override;
  void release() override;

 private:
  void check_locked();
  [[noreturn]] void lost(const std::string& why);

  std::shared_ptr<redis_backend> b_;
  std::string key_, token_;
  mutable std::mutex mtx_;
  uint64_t gen_;
  std::chrono::milliseconds ttl_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<redis::keyspace_watch> watch_;
  std::chrono::milliseconds wait_;  // for the grant's announcement
  // The watch's count of K's ends at our grant's announcement: learnt at the
  // first check (the announcement is in flight when acquire returns; by the
  // first commit it has long arrived), so acquire does not wait for it.
  std::optional<uint64_t> ends_;
  std::string lost_;  // why the grant was lost ("": not lost)
  bool released_ = false;
};

class redis_backend : public lock_backend, public std::enable_shared_from_this<redis_backend> {
 public:
  redis_backend(lock_service_uri uri, redis_options o) : uri_(std::move(uri)), opts_(o) {}

  std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) override {
    auto ttl = opts_.ttl.count() > 0 ? opts_.ttl : s.validity;
    grant g = take(path, s, "writer", ttl);
    return std::make_unique<redis_lock>(shared_from_this(), g.key, g.token, g.generation, ttl, g.sent,
                                        g.watch, opts_.connect_timeout);
  }

  lock_holder lock(const std::string& path, const lock_settings& s) override {
    return take(path, s, "maintenance", std::chrono::milliseconds(0)).who;
  }

  std::string unlock(const std::string& path, bool force, const lock_settings&) override {
    const std::string key = key_for(path);
    auto mget = std::move(run({{"MGET", key, key + ":holder", key + ":generation"}})[0]);
    auto h = holder_of(mget.get());
    if (!h) return "dataset " + path + " is not locked (" + where(key) + ")";
    if (h->kind != "maintenance" && !force)
      throw locked(path, key, *h, ", a live holder; use --force to break its lock");
    const std::string token = redis::text(mget->element[0]);
    if (run({eval(release_script, {key, key + ":holder"}, {token})})[0]->integer != 1)
      throw error(errc::locked, "the lock of " + path + " (" + where(key) +
                                    ") changed hands while it was being released; try again");
    if (h->kind == "maintenance") return "released the maintenance lock of " + h->describe();
    return "broke the lock of live " + h->describe() + "; its next commit fails with lock_lost";
  }

  std::optional<lock_holder> holder(const std::string& path, const lock_settings&) override {
    const std::string key = key_for(path);
    return holder_of(run({{"MGET", key, key + ":holder", key + ":generation"}})[0].get());
  }

  // Runs `cmds` in one round trip on the shared connection, connecting first
  // if needed; a failed connection is dropped, so the next call reconnects.
  std::vector<reply> run(const std::vector<std::vector<std::string>>& cmds) {
    std::lock_guard<std::mutex> g(mtx_);
    try {
      return connection().pipeline(cmds);
    } catch (const error& e) {
      if (e.code() == errc::unavailable) link_.reset();
      throw;
    }
  }

 private:
  struct grant {
    std::string key, token;
    uint64_t generation = 0;
    lock_holder who;
    std::chrono::steady_clock::time_point sent;
    std::shared_ptr<redis::keyspace_watch> watch;
  };

  redis::link connect() const {
    return redis::link(uri_.text, uri_.host, uri_.port, opts_.connect_timeout);
  }
  redis::link& connection() {  // REQUIRES: mtx_
    if (!link_) link_.emplace(connect());
    return *link_;
  }

  // The watch of the server, a new one if there is none or it broke.
  std::shared_ptr<redis::keyspace_watch> watch() {
    std::lock_guard<std::mutex> g(mtx_);
    if (!watch_ || watch_->broken()) {
      try {
        watch_ = std::make_shared<redis::keyspace_watch>(connect(), connection());
      } catch (const error& e) {
        if (e.code() == errc::unavailable) link_.reset();
        throw;
      }
    }
    return watch_;
  }

  // The lock name of the dataset at `path` (which must exist).
  std::string key_for(const std::string& path) const {
    if (!io::exists(path + "/" + format::schema_file)) throw error(errc::not_found, "no dataset at " + path);
    if (!uri_.name.empty()) return uri_.name;
    return derived_lock_name(std::filesystem::weakly_canonical(path).string());
  }
  std::string where(const std::string& key) const { return "Redis key " + key + " on " + uri_.text; }
  error locked(const std::string& path, const std::string& key, const lock_holder& h, const std::string& extra) const {
    return error(errc::locked, "dataset " + path + " is locked by " + h.describe() + " (" + where(key) + ")" + extra);
  }

  // SET NX until it succeeds or s.timeout ran out, waiting on K's keyspace
  // notifications (and, as a backstop, on K's PTTL) in between.
  grant take(const std::string& path, const lock_settings& s, const std::string& kind,
             std::chrono::milliseconds ttl) {
    grant g;
    g.key = key_for(path);
    g.token = random_token();
    g.who.kind = kind;
    g.who.host = this_host();
    g.who.pid = static_cast<int>(::getpid());
    g.who.since_ms = now_ms();
    g.who.alive = true;
    const std::string record = nlohmann::json{{"kind", kind}, {"host", g.who.host}, {"pid", g.who.pid},
                                              {"since_ms", g.who.since_ms}, {"token", g.token}}.dump();
    // Subscribed before the first SET: an end of K after it cannot be missed.
    g.watch = watch();
    g.watch->subscribe(g.key, opts_.connect_timeout);
    const auto acquire = eval(acquire_script, {g.key, g.key + ":holder", g.key + ":generation"},
                              {g.token, record, std::to_string(ttl.count()), redis::grants_channel(g.key)});
    const auto deadline = std::chrono::steady_clock::now() + s.timeout;
    bool told = false;
    for (;;) {
      const uint64_t seen = g.watch->ends(g.key);
      g.sent = std::chrono::steady_clock::now();
      auto r = run({acquire});
      if (r[0]->integer > 0) {
        g.generation = g.who.generation = static_cast<uint64_t>(r[0]->integer);
        return g;
      }
      auto info = run({{"MGET", g.key, g.key + ":holder", g.key + ":generation"}, {"PTTL", g.key}});
      auto h = holder_of(info[0].get());
      if (!h) continue;  // ended in between: try again
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        throw locked(path, g.key, *h, h->kind == "maintenance" ? "; release it with `serialake unlock`" : "");
      if (!told && s.timeout.count() > 0 && s.on_wait) {
        told = true;
        s.on_wait(*h);
      }
      auto until = deadline;
      if (info[1]->integer > 0) until = std::min(until, now + std::chrono::milliseconds(info[1]->integer + 1));
      g.watch->wait_end(g.key, seen, until);
      if (g.watch->broken()) g.watch = watch();  // reconnects, or throws unavailable
      g.watch->subscribe(g.key, opts_.connect_timeout);
    }
  }

  lock_service_uri uri_;
  redis_options opts_;
  std::mutex mtx_;  // link_, watch_
  std::optional<redis::link> link_;
  std::shared_ptr<redis::keyspace_watch> watch_;
};

void redis_lock::lost(const std::string& why) {
  lost_ = why;
  throw error(errc::lock_lost, "the Redis lock " + key_ + " (generation " + std::to_string(gen_) +
                                   ") was lost: " + why + "; nothing more can be committed");
}

void redis_lock::check_locked() {
  if (!lost_.empty()) lost(lost_);
  if (released_) lost("it was released");
  if (watch_->broken()) lost("the connection to the lock service broke (a restarted server may have lost the key)");
  if (!ends_) {
    try {
      ends_ = watch_->ends_at_grant(key_, token_, wait_);
    } catch (const error&) {
      lost("its grant was never announced on " + redis::grants_channel(key_) + ", so its end cannot be seen");
    }
  }
  if (watch_->ends(key_) != *ends_) lost("the key was deleted, expired or replaced");
  if (std::chrono::steady_clock::now() > deadline_)
    lost("no heartbeat renewed its " + std::to_string(ttl_.count()) + " ms TTL in time");
}

void redis_lock::heartbeat() {
  std::lock_guard<std::mutex> g(mtx_);
  check_locked();
  const auto sent = std::chrono::steady_clock::now();
  reply r(nullptr, freeReplyObject);
  try {
    r = std::move(b_->run({eval(extend_script, {key_, key_ + ":holder"}, {token_, std::to_string(ttl_.count())})})[0]);
  } catch (const error& e) {
    // Unreachable for now: the lease may still hold; check() says when not.
    if (e.code() != errc::unavailable) throw;
    check_locked();
    return;
  }
  if (r->integer != 1) lost("the key is gone or holds another token");
  deadline_ = sent + ttl_ - ttl_ / 10;
}

void redis_lock::raise_generation(uint64_t gen) {
  // K:generation restarts at 0 on a server that lost its data: the grant's
  // generation goes above the dataset's last commit's, so that the generations
  // recorded in the log keep growing.
  std::lock_guard<std::mutex> g(mtx_);
  check_locked();
  if (gen < gen_) return;
  auto r = b_->run({eval(raise_script, {key_, key_ + ":generation"}, {token_, std::to_string(gen)})});
  if (r[0]->integer <= 0) lost("the key is gone or holds another token");
  gen_ = static_cast<uint64_t>(r[0]->integer);
}

void redis_lock::release() {
  std::lock_guard<std::mutex> g(mtx_);
  if (released_) return;
  released_ = true;
  try {  // compare-token: never deletes another holder's key
    b_->run({eval(release_script, {key_, key_ + ":holder"}, {token_})});
  } catch (const error&) {
    // Unreachable: the key expires after its TTL.
  }
}

}  // namespace

std::shared_ptr<lock_backend> redis_lock_backend(const lock_service_uri& uri, redis_options opts) {
  if (uri.scheme != "redis")
    throw error(errc::invalid_argument, "lock URI '" + uri.text + "' is not a redis:// URI");
  return std::make_shared<redis_backend>(uri, opts);
}

}  // namespace serialake
