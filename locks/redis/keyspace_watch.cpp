#include "locks/redis/keyspace_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "serialake/error.hpp"

namespace serialake::redis {

namespace {

// Keyspace channels of database 0, the only one the backend uses.
const std::string channel_prefix = "__keyspace@0__:";

// The notification classes the lock needs: K (keyspace channels), g (del),
// x (expired), e (evicted). A stands for g$lshzxetd, which includes them.
bool has_needed_flags(const std::string& flags) {
  auto has = [&](char c) { return flags.find(c) != std::string::npos; };
  return has('K') && (has('A') || (has('g') && has('x') && has('e')));
}

// Events that leave a key as it was while its holder keeps it: its own SET
// (NX, PX) and the expire that SET PX and the heartbeat's PEXPIRE announce.
// Every other event (del, expired, evicted, rename_from, an overwrite by
// append, incr ...) ends the holder's key.
bool ends_key(const std::string& event) { return event != "set" && event != "expire"; }

}  // namespace

std::string grants_channel(const std::string& key) { return key + ":grants"; }

keyspace_watch::keyspace_watch(link sub, link& control) : sub_(std::move(sub)) {
  std::string flags;
  try {
    auto got = control.command({"CONFIG", "GET", "notify-keyspace-events"});
    if (got->type == REDIS_REPLY_ARRAY && got->elements == 2) flags = text(got->element[1]);
    if (!has_needed_flags(flags)) control.command({"CONFIG", "SET", "notify-keyspace-events", flags + "Kgxe"});
  } catch (const error& e) {
    if (e.code() == errc::unavailable) throw;
    throw error(errc::unavailable, "lock service " + control.uri() +
                                       " cannot be watched: keyspace notifications are needed and CONFIG "
                                       "GET/SET notify-keyspace-events failed (" + e.message() +
                                       "); configure notify-keyspace-events to include Kgxe (or KA)");
  }
  if (::pipe2(wake_, O_CLOEXEC) != 0) throw_io("cannot create a pipe for the Redis keyspace watch", errno);
  reader_ = std::thread([this] { run(); });
}

keyspace_watch::~keyspace_watch() {
  {
    std::lock_guard<std::mutex> g(mtx_);
    stop_ = true;
  }
  char c = 0;
  if (::write(wake_[1], &c, 1) < 0) {
    // The reader wakes at its next poll timeout instead.
  }
  reader_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void keyspace_watch::run() {
  for (;;) {
    pollfd p[2] = {{sub_.fd(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
    ::poll(p, 2, 1000);  // the timeout only bounds a missed wake-up at shutdown
    std::lock_guard<std::mutex> g(mtx_);
    if (stop_) return;
    drain();
    cv_.notify_all();
    if (broken_) return;
  }
}

void keyspace_watch::drain() {
  if (broken_) return;
  const bool open = sub_.read_available();
  while (auto r = sub_.next_buffered()) {
    // ["message", channel, event] or ["subscribe", channel, count].
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) continue;
    const std::string kind = text(r->element[0]), channel = text(r->element[1]);
    if (kind == "subscribe") subscribed_.insert(channel);
    if (kind != "message") continue;
    if (channel.compare(0, channel_prefix.size(), channel_prefix) == 0) {
      if (ends_key(text(r->element[2]))) ++ends_[channel.substr(channel_prefix.size())];
    } else if (grants_.count(channel)) {
      const std::string& key = grants_[channel];
      const std::string token = text(r->element[2]);
      announced_[key][token] = ends_[key];
      announced_order_.emplace_back(key, token);
      if (announced_order_.size() > 1024) {
        announced_[announced_order_.front().first].erase(announced_order_.front().second);
        announced_order_.pop_front();
      }
    }
  }
  if (!open) broken_ = true;
}

void keyspace_watch::subscribe(const std::string& key, std::chrono::milliseconds timeout) {
  const std::string events = channel_prefix + key, grants = grants_channel(key);
  std::unique_lock<std::mutex> g(mtx_);
  auto done = [&] { return subscribed_.count(events) && subscribed_.count(grants); };
  if (done()) return;
  grants_[grants] = key;
  if (!broken_) sub_.send({"SUBSCRIBE", events, grants});
  const bool ok = cv_.wait_for(g, timeout, [&] { return broken_ || done(); });
  if (!ok || broken_) sub_.fail("cannot subscribe to the keyspace notifications of key " + key);
}

uint64_t keyspace_watch::ends_at_grant(const std::string& key, const std::string& token,
                                       std::chrono::milliseconds timeout) {
  // Usually it is here already. If not, we read the socket ourselves, holding
  // mtx_ so that the reader thread cannot take the bytes meanwhile: no hand-off
  // between threads.
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> g(mtx_);
  for (;;) {
    drain();
    if (broken_ || announced_[key].count(token)) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() < 0) break;
    pollfd p{sub_.fd(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()) + 1);
  }
  cv_.notify_all();
  auto& mine = announced_[key];
  auto it = mine.find(token);
  if (it == mine.end()) sub_.fail("the grant of key " + key + " was not announced on " + grants_channel(key));
  const uint64_t ends = it->second;
  mine.erase(it);  // its entry in announced_order_ goes when it is the oldest
  return ends;
}

uint64_t keyspace_watch::ends(const std::string& key) {
  std::lock_guard<std::mutex> g(mtx_);
  drain();
  cv_.notify_all();  // what this read may concern a waiter too
  return ends_[key];
}

uint64_t keyspace_watch::wait_end(const std::string& key, uint64_t seen,
                                  std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> g(mtx_);
  cv_.wait_until(g, until, [&] { return broken_ || ends_[key] > seen; });
  return ends_[key];
}

bool keyspace_watch::broken() const {
  std::lock_guard<std::mutex> g(mtx_);
  return broken_;
}

}  // namespace serialake::redis
