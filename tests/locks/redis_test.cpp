// The Redis lock backend against a real redis-server (tests/locks/redis_server.hpp)
// and redis-py's Lock (/usr/bin/python3, Debian's python3-redis 4.3).

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "core/lock_file.hpp"
#include "core/store.hpp"
#include "locks/redis/redis_link.hpp"
#include "serialake/lock_services.hpp"
#include "serialake/locks/redis.hpp"
#include "tests/app/cli_runner.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/redis_server.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;

namespace {

std::string make_dataset(const temp_dir& t) {
  std::string ds = t / "ds";
  store::initialize(ds, {{"w", dtype::int64, "generic", {}}});
  return ds;
}

std::shared_ptr<lock_backend> backend(const redis_server& srv, const std::string& key, redis_options o = {}) {
  return redis_lock_backend(parse_lock_uri(srv.uri(key)), o);
}

// redis-py's Lock on `key`: `hold` takes it (blocking), prints "held", waits for
// a stdin line, releases, prints "released"; `try` prints acquire(blocking=False),
// then (if False) acquire(blocking_timeout=20) and releases.
const char* python_lock = R"(
import sys, redis
mode, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = redis.Redis(host='127.0.0.1', port=port).lock(key, timeout=30)
if mode == 'hold':
    assert lock.acquire(blocking_timeout=20)
    print('held', flush=True)
    sys.stdin.readline()
    lock.release()
    print('released', flush=True)
else:
    got = lock.acquire(blocking=False)
    print(got, flush=True)
    if not got:
        print(lock.acquire(blocking_timeout=20), flush=True)
    lock.release()
)";

cli_process python(const std::string& mode, const redis_server& srv, const std::string& key) {
  return cli_process({"-c", python_lock, mode, std::to_string(srv.port()), key}, "/usr/bin/python3");
}

}  // namespace

// Kills: a SET without NX (the second acquire would succeed), no holder record
// (the message would not name the pid), no INCR (the generation would not grow),
// a release that leaves the key (the third acquire would fail).
TEST_CASE("acquire, locked naming the holder, holder(), release, a larger generation") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_dataset(t);
  auto a = backend(srv, "photos-lock");
  auto first = a->acquire(ds, {});
  const uint64_t gen = first->generation();
  CHECK(gen >= 1);
  auto h = a->holder(ds, {});
  REQUIRE(h);
  CHECK(h->kind == "writer");
  CHECK(h->pid == static_cast<int>(::getpid()));
  CHECK(h->host == this_host());
  CHECK(h->generation == gen);
  std::string msg;
  CHECK(expect_code(errc::locked, [&] { backend(srv, "photos-lock")->acquire(ds, {}); }, &msg));
  CHECK_THAT(msg, Catch::Contains("writer pid " + std::to_string(::getpid())) &&
                      Catch::Contains("Redis key photos-lock on " + srv.uri("photos-lock")));
  first->check();
  first->heartbeat();
  first->release();
  CHECK_FALSE(a->holder(ds, {}));
  auto second = backend(srv, "photos-lock")->acquire(ds, {});
  CHECK(second->generation() > gen);
  // Another key is another lock.
  CHECK_NOTHROW(backend(srv, "other")->acquire(ds, {}));
}

// Kills: a waiter that sleeps until its timeout or the key's TTL instead of being
// woken by the release's keyspace notification (it would take 20 s, not < 5 s);
// a waiter that never gives up (the 300 ms waiter).
TEST_CASE("a waiter is woken by the release, one whose timeout runs out fails locked") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_dataset(t);
  redis_options long_ttl;
  long_ttl.ttl = 30s;  // the TTL cannot be what frees the lock
  auto holder = backend(srv, "k", long_ttl)->acquire(ds, {});
  std::promise<lock_holder> waiting;
  lock_settings s;
  s.timeout = 20s;
  s.on_wait = [&](const lock_holder& h) { waiting.set_value(h); };
  auto waiter = std::async(std::launch::async, [&] { return backend(srv, "k")->acquire(ds, s); });
  auto told = waiting.get_future();
  REQUIRE(told.wait_for(10s) == std::future_status::ready);
  CHECK(told.get().pid == static_cast<int>(::getpid()));

  lock_settings brief;
  brief.timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(expect_code(errc::locked, [&] { backend(srv, "k")->acquire(ds, brief); }));
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);

  const auto released = std::chrono::steady_clock::now();
  holder->release();
  REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
  auto got = waiter.get();
  CHECK(std::chrono::steady_clock::now() - released < 5s);
  CHECK_NOTHROW(got->check());
}

// Kills: a value other than the bare token or another key (redis-py would get
// its lock), release or extend scripts that ignore redis-py's token.
TEST_CASE("redis-py's Lock on the same key excludes serialake, and serialake excludes it") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_dataset(t);
  auto b = backend(srv, "shared");
  {
    auto py = python("hold", srv, "shared");
    REQUIRE(py.line() == "held");
    std::string msg;
    CHECK(expect_code(errc::locked, [&] { b->acquire(ds, {}); }, &msg));
    CHECK_THAT(msg, Catch::Contains("redis-py"));
    // serialake waits, and gets the lock when Python releases it.
    std::promise<void> waiting;
    lock_settings s;
    s.timeout = 20s;
    s.on_wait = [&](const lock_holder&) { waiting.set_value(); };
    auto waiter = std::async(std::launch::async, [&] { return b->acquire(ds, s); });
    REQUIRE(waiting.get_future().wait_for(10s) == std::future_status::ready);
    py.send("\n");
    CHECK(py.line() == "released");
    REQUIRE(waiter.wait_for(10s) == std::future_status::ready);
    auto mine = waiter.get();
    // Now Python fails to take it without blocking, and waits until we release.
    auto trier = python("try", srv, "shared");
    CHECK(trier.line() == "False");
    mine->release();
    CHECK(trier.line() == "True");
    CHECK(trier.finish().status == 0);
  }
}

// Kills: a maintenance key with a TTL (PTTL would not be -1), unlock without
// --force of a live writer, a forced unlock the writer does not notice.
TEST_CASE("maintenance lock: no TTL, excludes writers until unlock, unlock --force breaks a live writer") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_dataset(t);
  auto b = backend(srv, "m");
  lock_holder h = b->lock(ds, {});
  CHECK(h.kind == "maintenance");
  redis::link raw(srv.uri(), "127.0.0.1", srv.port(), 2000ms);
  CHECK(raw.command({"PTTL", "m"})->integer == -1);
  std::string msg;
  CHECK(expect_code(errc::locked, [&] { backend(srv, "m")->acquire(ds, {}); }, &msg));
  CHECK_THAT(msg, Catch::Contains("maintenance"));
  CHECK_THAT(b->unlock(ds, false, {}), Catch::Contains("released the maintenance lock"));
  CHECK_THAT(b->unlock(ds, false, {}), Catch::Contains("not locked"));

  auto writer = backend(srv, "m")->acquire(ds, {});
  CHECK(expect_code(errc::locked, [&] { b->unlock(ds, false, {}); }));
  CHECK_NOTHROW(writer->check());
  CHECK_THAT(b->unlock(ds, true, {}), Catch::Contains("broke the lock of live writer"));
  CHECK(expect_code(errc::lock_lost, [&] { writer->heartbeat(); }));
  CHECK(expect_code(errc::lock_lost, [&] { writer->check(); }));
  CHECK_NOTHROW(backend(srv, "m")->acquire(ds, {}));
}

// Kills: a missing connect or command timeout (the silent listener would hang
// the acquire), an error without the URI, a CLI that maps it to another status.
TEST_CASE("an unreachable server fails with unavailable naming the URI, within the connect timeout, CLI exit 69") {
  temp_dir t;
  const std::string ds = make_dataset(t);
  const uint16_t closed = free_port();
  const std::string uri = "redis://127.0.0.1:" + std::to_string(closed) + "/k";
  std::string msg;
  CHECK(expect_code(errc::unavailable, [&] { lock_backend_for(uri)->acquire(ds, {}); }, &msg));
  CHECK_THAT(msg, Catch::Contains(uri));

  // A server that accepts the connection (the kernel's backlog does) but never
  // answers: the command timeout bounds it.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(silent, 8) == 0);
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  const std::string hung = "redis://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/k";
  redis_options o;
  o.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(expect_code(errc::unavailable, [&] { redis_lock_backend(parse_lock_uri(hung), o)->acquire(ds, {}); }, &msg));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK_THAT(msg, Catch::Contains(hung));
  ::close(silent);

  auto r = test::cli({"append", "--lock", uri, ds}, "{\"w\": 1}\n");
  CHECK(r.status == 69);
  CHECK_THAT(r.err, Catch::Contains(uri));
  // The same through SERIALAKE_LOCK; a malformed URI is a usage error.
  ::setenv("SERIALAKE_LOCK", uri.c_str(), 1);
  auto e = test::cli({"commit", ds, "-m", "x"});
  ::unsetenv("SERIALAKE_LOCK");
  CHECK(e.status == 69);
  CHECK(test::cli({"append", "--lock", "redis://", ds}).status == 64);
}

// Kills: a CLI that ignores --lock (append would take the file lock and succeed,
// lock/unlock would not touch the Redis key).
TEST_CASE("CLI: --lock takes the Redis lock for append, lock, unlock and commit") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_dataset(t);
  const std::string uri = srv.uri("cli");
  auto held = lock_backend_for(uri)->acquire(ds, {});
  auto r = test::cli({"append", "--lock", uri, ds}, "{\"w\": 1}\n");
  CHECK(r.status == 75);
  CHECK_THAT(r.err, Catch::Contains("writer pid " + std::to_string(::getpid())));
  held->release();
  CHECK(test::cli({"append", "--lock", uri, ds}, "{\"w\": 1}\n").status == 0);
  CHECK(test::cli({"lock", "--lock", uri, ds}).status == 0);
  CHECK(test::cli({"commit", "--lock", uri, ds, "-m", "x"}).status == 75);
  CHECK(test::cli({"commit", ds, "-m", "file lock is another lock"}).status == 0);
  CHECK(test::cli({"unlock", "--lock", uri, ds}).status == 0);
  CHECK(test::cli({"commit", "--lock", uri, ds, "-m", "y"}).status == 0);
}
