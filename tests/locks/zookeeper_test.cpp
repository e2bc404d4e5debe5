// The ZooKeeper lock backend against a real server (one per test binary):
// exclusion, waiting by watch, maintenance locks, unreachable servers, and
// interop with kazoo 2.8's Lock, WriteLock and ReadLock driven from Python.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "serialake/locks/zookeeper.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/zookeeper_server.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;

namespace {

zookeeper_server& server() {
  static zookeeper_server s;  // shared: a start costs about a second
  return s;
}

// A lock path of its own per test, so tests never see each other's contenders.
std::string fresh_name() {
  static int n = 0;
  return "serialake-test/" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

std::shared_ptr<lock_backend> backend(const std::string& name, zookeeper_options o = {}) {
  o.connect_timeout = 10s;  // a JVM just started, on a loaded machine, is slow to its first session
  return zookeeper_lock_backend(parse_lock_uri(server().uri(name)), o);
}

lock_settings wait_for(std::chrono::milliseconds t) {
  lock_settings s;
  s.timeout = t;
  s.heartbeat = 100ms;
  return s;
}

// Runs kazoo_lock.py against the shared server.
std::unique_ptr<child> kazoo(const std::string& name, const std::string& kind, const std::string& mode) {
  return std::make_unique<child>(std::vector<std::string>{
      "/usr/bin/python3", SERIALAKE_KAZOO_LOCK, "127.0.0.1:" + std::to_string(server().port()), "/" + name, kind,
      mode});
}

}  // namespace

TEST_CASE("a held lock makes another writer fail with locked naming the holder; release frees it") {
  const auto name = fresh_name();
  auto a = backend(name), b = backend(name);  // two sessions, as two processes
  auto held = a->acquire("/data/x", wait_for(0ms));
  std::string msg;
  // Kills: a writer that ignores lower contenders (predecessor search).
  CHECK(expect_code(errc::locked, [&] { b->acquire("/data/x", wait_for(0ms)); }, &msg));
  CHECK(msg.find("writer pid " + std::to_string(::getpid())) != std::string::npos);
  CHECK(msg.find(server().uri(name)) != std::string::npos);
  auto h = b->holder("/data/x", {});
  REQUIRE(h);
  CHECK(h->kind == "writer");
  CHECK(h->pid == ::getpid());
  CHECK(h->generation == held->generation());  // the czxid of the holder's node
  CHECK(h->alive);
  held->release();
  auto next = b->acquire("/data/x", wait_for(0ms));
  CHECK(next->generation() > h->generation);  // a later create has a later czxid
}

TEST_CASE("a waiter is woken by its predecessor's deletion, not by a timer") {
  const auto name = fresh_name();
  auto a = backend(name), b = backend(name);
  auto held = a->acquire("/d", wait_for(0ms));
  std::promise<lock_holder> waiting;
  auto s = wait_for(20s);
  s.on_wait = [&](const lock_holder& h) { waiting.set_value(h); };
  auto got = std::async(std::launch::async, [&] { return b->acquire("/d", s); });
  auto w = waiting.get_future();
  REQUIRE(w.wait_for(10s) == std::future_status::ready);  // on_wait: it waits now
  CHECK(w.get().generation == held->generation());
  const auto released = std::chrono::steady_clock::now();
  held->release();
  REQUIRE(got.wait_for(10s) == std::future_status::ready);
  auto lock = got.get();
  // Kills: waiting out the timeout (20 s) instead of watching the predecessor.
  CHECK(std::chrono::steady_clock::now() - released < 5s);
  lock->check();
}

TEST_CASE("a waiter that times out fails with locked and leaves no contender behind") {
  const auto name = fresh_name();
  auto a = backend(name), b = backend(name), c = backend(name);
  auto held = a->acquire("/d", wait_for(0ms));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(expect_code(errc::locked, [&] { b->acquire("/d", wait_for(300ms)); }));
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  held->release();
  // Kills: a waiter that leaves its node on timeout (c would queue behind it).
  CHECK(code_of([&] { c->acquire("/d", wait_for(0ms)); }) == errc{});
}

TEST_CASE("a maintenance lock outlives its session; unlock releases it, a live writer's only with force") {
  const auto name = fresh_name();
  auto w = backend(name);
  backend(name)->lock("/d", wait_for(0ms));  // its backend and session are gone now
  std::string msg;
  CHECK(expect_code(errc::locked, [&] { w->acquire("/d", wait_for(0ms)); }, &msg));
  CHECK(msg.find("maintenance") != std::string::npos);
  CHECK(w->unlock("/d", false, {}).find("released the lock of maintenance") == 0);
  auto held = w->acquire("/d", wait_for(0ms));
  auto other = backend(name);
  CHECK(expect_code(errc::locked, [&] { other->unlock("/d", false, {}); }));
  CHECK(other->unlock("/d", true, {}).find("broke the lock of live writer") == 0);
  // Kills: a heartbeat that does not notice its node was deleted.
  CHECK(expect_code(errc::lock_lost, [&] { held->heartbeat(); }));
  CHECK(expect_code(errc::lock_lost, [&] { held->check(); }));
  CHECK(other->unlock("/d", false, {}).find("is not locked") != std::string::npos);
  CHECK_FALSE(other->holder("/d", {}));
}

TEST_CASE("without a lock path the name derives from the dataset path") {
  auto a = backend(""), b = backend("");
  auto held = a->acquire("/datasets/photos", wait_for(0ms));
  std::string msg;
  CHECK(expect_code(errc::locked, [&] { b->acquire("/datasets/photos", wait_for(0ms)); }, &msg));
  CHECK(msg.find("/" + derived_lock_name("/datasets/photos")) != std::string::npos);
  CHECK(code_of([&] { b->acquire("/datasets/other", wait_for(0ms)); }) == errc{});
}

TEST_CASE("an unreachable server fails with unavailable naming the URI within the connect timeout") {
  const std::string uri = "zk://127.0.0.1:" + std::to_string(free_port()) + "/x";
  zookeeper_options o;
  o.connect_timeout = 300ms;
  auto b = zookeeper_lock_backend(parse_lock_uri(uri), o);
  const auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  CHECK(expect_code(errc::unavailable, [&] { b->acquire("/d", wait_for(0ms)); }, &msg));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(msg.find(uri) != std::string::npos);
}

TEST_CASE("a heartbeat slower than a third of the session timeout is refused") {
  zookeeper_options o;
  o.session_timeout = 1000ms;
  auto s = wait_for(0ms);
  s.heartbeat = 500ms;
  CHECK(expect_code(errc::invalid_argument, [&] { backend(fresh_name(), o)->acquire("/d", s); }));
}

TEST_CASE("kazoo's Lock and ReadLock holding the path make serialake writers fail with locked") {
  for (const char* kind : {"Lock", "ReadLock"}) {
    const auto name = fresh_name();
    auto k = kazoo(name, kind, "hold");
    REQUIRE(k->line() == "held");
    std::string msg;
    // Kills: not excluding __rlock__ contenders (ReadLock), or another node name.
    CHECK(expect_code(errc::locked, [&] { backend(name)->acquire("/d", wait_for(0ms)); }, &msg));
    CHECK(msg.find("kazoo-test") != std::string::npos);  // kazoo's identifier names it
    k->send("\n");
    CHECK(k->line() == "released");
    CHECK(code_of([&] { backend(name)->acquire("/d", wait_for(0ms)); }) == errc{});
  }
}

TEST_CASE("a serialake writer waits for kazoo's WriteLock and gets it when kazoo releases") {
  const auto name = fresh_name();
  auto k = kazoo(name, "WriteLock", "hold");
  REQUIRE(k->line() == "held");
  auto s = wait_for(20s);
  s.on_wait = [&](const lock_holder& h) {
    CHECK(h.host == "kazoo-test");
    k->send("\n");  // it waits now: let kazoo go
  };
  auto lock = backend(name)->acquire("/d", s);
  CHECK(k->line() == "released");
  lock->check();
}

TEST_CASE("kazoo's Lock and WriteLock cannot take a lock serialake holds, and wait for it") {
  const auto name = fresh_name();
  auto held = backend(name)->acquire("/d", wait_for(0ms));
  // Kills: a node name kazoo does not see as a contender (not <uuid>__lock__<seq>).
  CHECK(kazoo(name, "Lock", "try")->finish().out == "busy\n");
  CHECK(kazoo(name, "WriteLock", "try")->finish().out == "busy\n");
  auto k = kazoo(name, "WriteLock", "wait");
  REQUIRE(k->line() == "waiting");
  held->release();
  CHECK(k->line() == "acquired");
}
