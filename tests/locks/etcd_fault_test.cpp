// Faults under the etcd lock, through the engine (dataset_options::locking): the
// server paused (SIGSTOP) or stopped and restarted past the lease TTL. The holder
// must lose its lock before another writer can take it, its late commit is
// refused, the dataset stays intact and the new writer proceeds.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "serialake/dataset.hpp"
#include "core/store.hpp"
#include "serialake/locks/etcd.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/etcd_server.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

row numbered(int64_t i) { return {{"w", sample::scalar<int64_t>(dtype::int64, i)}}; }

// A writer through the engine; heartbeat 200 ms, lease TTL 2 s.
dataset_options etcd_writer(const etcd_server& s, const std::string& name, std::chrono::milliseconds wait) {
  dataset_options o;
  etcd_options eo;
  eo.request_timeout = 1000ms;
  o.locking = etcd_lock_backend(parse_lock_uri(s.uri(name)), eo);
  o.lock_heartbeat = 200ms;
  o.lock_validity = 2000ms;
  o.lock_timeout = wait;
  o.policy.mode = durability::durable;
  return o;
}

// With etcd cut off (`cut`), the holder commits a row every 50 ms until it
// gets lock_lost; returns how many rows it committed. The wait is the lease's:
// time is what is under test here, so this polls, bounded.
int64_t commit_until_lost(dataset& ds, int64_t next, const std::function<void()>& cut) {
  cut();
  const auto start = steady::now();
  errc got{};
  auto attempt = start;  // when the refused commit began
  while (got == errc{} && steady::now() - start < 6s) {
    attempt = steady::now();
    got = code_of([&] { ds.append_row(numbered(next)).get(); });  // durable: acknowledged = committed
    if (got != errc{}) break;
    ++next;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(got == errc::lock_lost);
  // Refused before etcd could expire the lease (2 s after the last refresh,
  // which came before the cut): no other writer can have been granted it yet.
  // Kills: a check() that asks etcd or waits for a failed heartbeat (1 s request
  // timeout, then retries) instead of the local lease deadline.
  CHECK(attempt - start < 2000ms);
  return next;
}

void fault_run(const std::function<void(etcd_server&)>& cut, const std::function<void(etcd_server&)>& heal) {
  etcd_server server;
  const auto name = fresh_lock_name();
  temp_dir d;
  const auto path = d / "ds";
  store::create(path)->create_tensor({"w", dtype::int64, "generic", {}});
  engine e1, e2;
  auto old = e1.open(path, etcd_writer(server, name, 0ms));
  old.append_row(numbered(0));
  old.flush();
  const int64_t committed = commit_until_lost(old, 1, [&] { cut(server); });
  heal(server);
  // The new writer waits for the old lease (revoked by the old holder, or
  // expired) through its watch.
  auto fresh = e2.open(path, etcd_writer(server, name, 15000ms));
  fresh.append_row(numbered(1000));
  fresh.flush();
  // The old holder's late commit is refused.
  CHECK(expect_code(errc::lock_lost, [&] { old.append_row(numbered(999)).get(); }));
  fresh.append_row(numbered(1001));
  fresh.flush();
  CHECK(code_of([&] { old.close(); }) == errc::lock_lost);  // close reports its failure
  fresh.close();
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  REQUIRE(snap->length("w") == uint64_t(committed + 2));
  for (int64_t i = 0; i < committed; ++i) CHECK(snap->read("w", uint64_t(i)).as<int64_t>()[0] == i);
  CHECK(snap->read("w", uint64_t(committed)).as<int64_t>()[0] == 1000);
  CHECK(snap->read("w", uint64_t(committed + 1)).as<int64_t>()[0] == 1001);
  CHECK_FALSE(s->damage());
  CHECK(s->verify().empty());
  auto log = s->log(true);
  CHECK(log.back().lock_gen > log.front().lock_gen);  // the new grant's create revision
}

}  // namespace

TEST_CASE("etcd paused (SIGSTOP) past the lease TTL: the holder stops committing before it could be replaced") {
  fault_run([](etcd_server& s) { s.pause(); }, [](etcd_server& s) { s.resume(); });
}

TEST_CASE("etcd stopped and restarted past the lease TTL: the holder stops, the next writer proceeds") {
  fault_run([](etcd_server& s) { s.stop(); }, [](etcd_server& s) { REQUIRE(s.start()); });
}

TEST_CASE("a paused etcd fails an acquire with unavailable naming the URI after the request timeout") {
  etcd_server server;
  etcd_options eo;
  eo.request_timeout = 500ms;
  const auto uri = server.uri(fresh_lock_name());
  auto backend = etcd_lock_backend(parse_lock_uri(uri), eo);
  lock_settings ls;
  ls.timeout = 5000ms;
  ls.validity = 2000ms;
  ls.heartbeat = 200ms;
  server.pause();
  const auto start = steady::now();
  std::string msg;
  CHECK(expect_code(errc::unavailable, [&] { backend->acquire("/data/ds", ls); }, &msg));
  CHECK_THAT(msg, Catch::Contains(uri));
  CHECK(steady::now() - start < 1500ms);
  server.resume();
}
