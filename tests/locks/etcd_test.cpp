// The etcd lock backend against a real etcd (tests/locks/etcd_server.hpp), with
// etcdctl as the other party of the interop tests.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "core/lock_file.hpp"
#include "locks/etcd/etcd_mutex.hpp"
#include "serialake/locks/etcd.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/etcd_server.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

lock_settings quick(std::chrono::milliseconds timeout = 0ms) {
  lock_settings s;
  s.timeout = timeout;
  s.heartbeat = 200ms;
  s.validity = 2000ms;  // the lease TTL: 2 s, etcd's minimum
  return s;
}

// The keys under a lock's prefix, oldest first.
std::vector<etcd::lock_key> keys_of(const std::string& name) {
  etcd::client c(parse_lock_uri(shared_etcd().uri(name)), {});
  return etcd::contenders(c, name + "/");
}

// `etcdctl lock <name> -- sh -c <script>` against the shared server.
child etcdctl_lock(const std::string& name, const std::string& script) {
  return child({"/usr/bin/etcdctl", "--endpoints=" + shared_etcd().endpoint(), "lock", name, "--",
                "/bin/sh", "-c", script});
}

const std::string pid_text = std::to_string(::getpid());

}  // namespace

TEST_CASE("acquire and release: the holder is us, a later grant has a higher generation") {
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));
  auto lock = backend->acquire("/data/ds", quick());
  auto h = backend->holder("/data/ds", quick());
  REQUIRE(h);
  CHECK(h->kind == "writer");
  CHECK(h->pid == ::getpid());
  CHECK(h->host == this_host());
  CHECK(h->alive);
  CHECK(h->generation == lock->generation());
  REQUIRE(keys_of(name).size() == 1);
  CHECK(keys_of(name)[0].create_revision == int64_t(lock->generation()));
  lock->check();  // held: no throw
  const uint64_t first = lock->generation();
  lock->release();
  // Kills: a release that leaves the key (or its lease) behind.
  CHECK_FALSE(backend->holder("/data/ds", quick()));
  CHECK(keys_of(name).empty());
  CHECK(expect_code(errc::lock_lost, [&] { lock->check(); }));
  auto again = backend->acquire("/data/ds", quick());
  CHECK(again->generation() > first);
}

TEST_CASE("a held lock fails another writer with locked naming the holder, or makes it wait") {
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));
  auto held = backend->acquire("/data/ds", quick());

  SECTION("timeout 0: at once, naming pid, host and the key; no key left behind") {
    std::string msg;
    CHECK(expect_code(errc::locked, [&] { backend->acquire("/data/ds", quick()); }, &msg));
    CHECK_THAT(msg, Catch::Contains("pid " + pid_text) && Catch::Contains(this_host()) &&
                        Catch::Contains(name + "/"));
    CHECK(keys_of(name).size() == 1);  // kills: a loser that keeps its contender key
  }
  SECTION("a waiter is woken by the holder's release, through its watch") {
    std::promise<lock_holder> waiting;
    auto s = quick(20000ms);
    s.on_wait = [&](const lock_holder& h) { waiting.set_value(h); };
    auto waiter = std::async(std::launch::async, [&] { return backend->acquire("/data/ds", s); });
    auto told = waiting.get_future();
    REQUIRE(told.wait_for(10s) == std::future_status::ready);
    CHECK(told.get().generation == held->generation());
    REQUIRE(keys_of(name).size() == 2);  // it waits with its key in line
    const auto released = steady::now();
    held->release();
    REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
    auto got = waiter.get();
    // Woken by the deletion, not by its timeout (20 s) nor a lease expiry (2 s).
    CHECK(steady::now() - released < 1500ms);
    CHECK(got->generation() > held->generation());
  }
  SECTION("a waiter gives up at its timeout with locked, and takes its key away") {
    const auto start = steady::now();
    CHECK(expect_code(errc::locked, [&] { backend->acquire("/data/ds", quick(400ms)); }));
    CHECK(steady::now() - start >= 400ms);
    CHECK(steady::now() - start < 3s);
    CHECK(keys_of(name).size() == 1);
  }
}

TEST_CASE("a waiter whose key outlives several lease TTLs keeps its lease alive and its place") {
  // Kills: a waiter that does not refresh its lease while waiting (its key would
  // expire after 2 s, and a later contender could overtake it).
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));
  auto held = backend->acquire("/data/ds", quick());
  std::promise<void> waiting;
  auto s = quick(20000ms);
  s.on_wait = [&](const lock_holder&) { waiting.set_value(); };
  auto waiter = std::async(std::launch::async, [&] { return backend->acquire("/data/ds", s); });
  REQUIRE(waiting.get_future().wait_for(10s) == std::future_status::ready);
  const auto waiter_key = keys_of(name).at(1);
  // The holder heartbeats (as the lock actor would) for 3.2 s, past the 2 s TTL
  // and etcd's 0.5 s expiry sweep: the waiter's key must stay.
  for (int i = 0; i < 16; ++i) {
    std::this_thread::sleep_for(200ms);  // the lock actor's heartbeat period
    held->heartbeat();
  }
  auto now = keys_of(name);
  REQUIRE(now.size() == 2);
  CHECK(now[1].key == waiter_key.key);
  held->release();
  REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
  CHECK(waiter.get()->generation() == uint64_t(waiter_key.create_revision));
}

TEST_CASE("etcdctl lock holds: serialake fails with locked or waits until it lets go") {
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));
  // etcdctl gives its command no stdin: it holds until a line comes through a fifo.
  temp_dir d;
  const std::string fifo = d / "go";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto other = etcdctl_lock(name, "echo held; read line < " + fifo + "; echo done");
  REQUIRE(other.line(10s) == "held");
  std::string msg;
  CHECK(expect_code(errc::locked, [&] { backend->acquire("/data/ds", quick()); }, &msg));
  CHECK_THAT(msg, Catch::Contains("no identity") && Catch::Contains(name + "/"));
  auto h = backend->holder("/data/ds", quick());
  REQUIRE(h);
  CHECK(h->alive);
  CHECK(expect_code(errc::locked, [&] { backend->unlock("/data/ds", false, quick()); }));

  auto waiter = std::async(std::launch::async, [&] { return backend->acquire("/data/ds", quick(20000ms)); });
  CHECK(waiter.wait_for(300ms) == std::future_status::timeout);
  std::ofstream(fifo) << "go" << std::endl;  // etcdctl's command ends: it releases
  CHECK(other.line(10s) == "done");
  REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
  auto lock = waiter.get();
  CHECK(other.wait(10s) == 0);
  lock->check();
}

TEST_CASE("serialake holds: etcdctl lock waits until it releases") {
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));
  auto lock = backend->acquire("/data/ds", quick());
  auto other = etcdctl_lock(name, "echo got");
  // Not acquired: no output for a second, and its key queues behind ours.
  CHECK(other.line(1000ms).empty());
  auto keys = keys_of(name);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].create_revision == int64_t(lock->generation()));
  CHECK(keys[1].value.empty());  // etcdctl's: no identity
  lock->release();
  CHECK(other.line(10s) == "got");
  CHECK(other.wait(10s) == 0);
}

TEST_CASE("a maintenance lock outlives its lease until unlock; a forced unlock breaks a live writer") {
  const auto name = fresh_lock_name();
  auto backend = etcd_lock_backend(parse_lock_uri(shared_etcd().uri(name)));

  SECTION("maintenance") {
    auto m = backend->lock("/data/ds", quick());
    CHECK(m.kind == "maintenance");
    auto keys = keys_of(name);
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].lease == 0);  // kills: a maintenance key left on its (revoked) lease
    std::string msg;
    CHECK(expect_code(errc::locked, [&] { backend->acquire("/data/ds", quick()); }, &msg));
    CHECK_THAT(msg, Catch::Contains("maintenance"));
    CHECK_FALSE(backend->holder("/data/ds", quick())->alive);
    CHECK_THAT(backend->unlock("/data/ds", false, quick()), Catch::Contains("released"));
    CHECK(keys_of(name).empty());
    backend->acquire("/data/ds", quick())->check();
  }
  SECTION("forced unlock of a live writer") {
    auto lock = backend->acquire("/data/ds", quick());
    CHECK(expect_code(errc::locked, [&] { backend->unlock("/data/ds", false, quick()); }));
    lock->check();
    CHECK_THAT(backend->unlock("/data/ds", true, quick()), Catch::Contains("broke") && Catch::Contains(pid_text));
    // The watch on its key tells check() (local) within moments; the heartbeat
    // (a read of the key) tells it too. Kills: a check() that never learns.
    const auto until = steady::now() + 5s;
    while (code_of([&] { lock->check(); }) == errc{} && steady::now() < until)
      std::this_thread::sleep_for(1ms);
    CHECK(expect_code(errc::lock_lost, [&] { lock->check(); }));
    CHECK(expect_code(errc::lock_lost, [&] { lock->heartbeat(); }));
    backend->acquire("/data/ds", quick())->check();
  }
  SECTION("unlock of nothing") {
    CHECK_THAT(backend->unlock("/data/ds", false, quick()), Catch::Contains("not locked"));
  }
}

TEST_CASE("a URI without a name locks the prefix derived from the dataset's canonical path") {
  temp_dir d;
  std::filesystem::create_directory(d / "ds");
  std::filesystem::create_directory_symlink(d / "ds", d / "link");
  auto unnamed = etcd_lock_backend(parse_lock_uri(shared_etcd().uri("")));
  auto lock = unnamed->acquire(d / "ds", quick());
  const std::string derived = derived_lock_name(std::filesystem::canonical(d / "ds").string());
  REQUIRE(keys_of(derived).size() == 1);
  CHECK(expect_code(errc::locked, [&] { unnamed->acquire(d / "link", quick()); }));
}

TEST_CASE("an unreachable etcd fails with unavailable naming the URI, within the connect timeout") {
  const std::string uri = "etcd://127.0.0.1:" + std::to_string(free_port()) + "/locks/x";
  etcd_options o;
  o.connect_timeout = 1000ms;
  auto backend = etcd_lock_backend(parse_lock_uri(uri), o);
  const auto start = steady::now();
  std::string msg;
  CHECK(expect_code(errc::unavailable, [&] { backend->acquire("/data/ds", quick(5000ms)); }, &msg));
  CHECK_THAT(msg, Catch::Contains(uri));
  CHECK(expect_code(errc::unavailable, [&] { backend->holder("/data/ds", quick()); }));
  CHECK(steady::now() - start < 2000ms);
  CHECK(expect_code(errc::invalid_argument, [&] { etcd_lock_backend(parse_lock_uri("redis://h/k")); }));
}
