// etcd-lock-latency: the etcd backend's figures for docs/benchmarks.md, from one
// run against one etcd (its own, started as the tests start theirs, or --uri):
//  - acquire + release p50/p99, against the bare calls it is made of (lease
//    grant + txn put + delete), interleaved so both see the same server;
//  - hand-over to a waiter after a release, and after a SIGKILLed holder (a child
//    process heartbeating as a writer does), which the lease TTL bounds.
//
//   etcd-lock-latency [--rounds N] [--uri etcd://host:port/name]
//   etcd-lock-latency --hold URI      (the child: holds the lock until killed)

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "locks/etcd/etcd_client.hpp"
#include "serialake/error.hpp"
#include "serialake/locks/etcd.hpp"
#include "tests/locks/etcd_server.hpp"

using namespace serialake;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using etcd::json;

namespace {

lock_settings writer_settings(std::chrono::milliseconds timeout = 0ms) {
  lock_settings s;
  s.timeout = timeout;
  s.heartbeat = 200ms;
  s.validity = 2000ms;  // lease TTL 2 s
  return s;
}

double ms_since(steady::time_point t) {
  return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// One bare acquire+release's worth of calls, on a kept-alive connection.
void bare_round(etcd::client& c, const std::string& name, int i) {
  auto lease = c.call("/v3/lease/grant", {{"TTL", "2"}});
  const std::string key = etcd::b64(name + "/bare-" + std::to_string(i));
  json txn;
  txn["compare"] = json::array({json{{"target", "CREATE"}, {"key", key}, {"create_revision", "0"}}});
  txn["success"] = json::array({json{{"request_put", {{"key", key}, {"lease", lease.at("ID")}}}}});
  c.call("/v3/kv/txn", txn);
  c.call("/v3/kv/deleterange", {{"key", key}});
}

// Hand-over: `holder` has the lock; a waiter queues behind it, then `let_go`
// runs; returns ms from let_go to the waiter's grant.
double hand_over(lock_backend& b, const std::function<void()>& let_go) {
  std::promise<void> waiting;
  auto s = writer_settings(20000ms);
  s.on_wait = [&](const lock_holder&) { waiting.set_value(); };
  auto waiter = std::async(std::launch::async, [&] { return b.acquire("bench", s); });
  waiting.get_future().wait();
  const auto t0 = steady::now();
  let_go();
  auto lock = waiter.get();
  const double ms = ms_since(t0);
  lock->release();
  return ms;
}

int hold(const std::string& uri) {
  auto lock = etcd_lock_backend(parse_lock_uri(uri))->acquire("bench", writer_settings(20000ms));
  std::cout << "held" << std::endl;
  for (;;) {  // a writer's lock actor: heartbeat every 200 ms until killed
    std::this_thread::sleep_for(200ms);
    lock->heartbeat();
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 500;
  std::string uri;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--hold") return hold(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    else if (a == "--uri") uri = argv[i + 1];
  }
  std::unique_ptr<test::etcd_server> own;
  if (uri.empty()) {
    own = std::make_unique<test::etcd_server>();
    uri = own->uri("bench-lock");
  }
  auto parsed = parse_lock_uri(uri);
  auto backend = etcd_lock_backend(parsed);
  etcd::client c(parsed, {});
  std::vector<double> bare, lock;
  for (int i = 0; i < rounds + 20; ++i) {  // the first 20 warm up
    auto t = steady::now();
    bare_round(c, parsed.name, i);
    double b = ms_since(t);
    t = steady::now();
    backend->acquire("bench", writer_settings())->release();
    double l = ms_since(t);
    if (i >= 20) {
      bare.push_back(b);
      lock.push_back(l);
    }
  }
  std::printf("etcd %s, %d rounds\n", uri.c_str(), rounds);
  std::printf("  bare grant+txn+delete   p50 %.2f ms  p99 %.2f ms\n", pct(bare, .5), pct(bare, .99));
  std::printf("  acquire+release         p50 %.2f ms  p99 %.2f ms  (x%.2f, x%.2f)\n", pct(lock, .5),
              pct(lock, .99), pct(lock, .5) / pct(bare, .5), pct(lock, .99) / pct(bare, .99));

  std::vector<double> released;
  for (int i = 0; i < 50; ++i) {
    auto held = backend->acquire("bench", writer_settings());
    released.push_back(hand_over(*backend, [&] { held->release(); }));
  }
  std::printf("  hand-over after release p50 %.2f ms  max %.2f ms (50 rounds)\n", pct(released, .5),
              pct(released, 1));

  std::vector<double> killed;
  for (int i = 0; i < 5; ++i) {
    test::child holder({"/proc/self/exe", "--hold", uri});
    if (holder.line(20s) != "held") return 1;
    killed.push_back(hand_over(*backend, [&] { holder.kill(SIGKILL); }));
  }
  std::printf("  hand-over after SIGKILL  p50 %.0f ms  max %.0f ms (5 rounds; lease TTL 2 s)\n",
              pct(killed, .5), pct(killed, 1));
  return 0;
}
