// The engine's registry of open datasets: opens serialized per path, reopens
// with other options refused, pinned versions kept apart from the latest.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "serialake/dataset.hpp"
#include "core/lock_file.hpp"
#include "core/store.hpp"
#include "tests/process.hpp"
#include "tests/actors/open_code.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::child;
using serialake::test::expect_code;
using serialake::test::open_code;
using serialake::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// A dataset with the tensors lock_child writes.
std::string make_dataset(const std::string& path) {
  auto s = store::create(path);
  s->create_tensor({"w", dtype::int64, "generic", {}});
  s->create_tensor({"s", dtype::text, "text", {}});
  return path;
}

// The file lock, telling the test when an open has reached acquire(): the sync
// point from which that open is (or is about to be) waiting for the lock.
struct signalling_backend : lock_backend {
  std::shared_ptr<lock_backend> inner = file_lock_backend();
  std::promise<void> entered;
  std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) override {
    entered.set_value();
    return inner->acquire(path, s);
  }
  lock_holder lock(const std::string& path, const lock_settings& s) override { return inner->lock(path, s); }
  std::string unlock(const std::string& path, bool force, const lock_settings& s) override {
    return inner->unlock(path, force, s);
  }
  std::optional<lock_holder> holder(const std::string& path, const lock_settings& s) override {
    return inner->holder(path, s);
  }
};

}  // namespace

TEST_CASE("an open of path B completes while an open of path A waits for another process's lock") {
  temp_dir d;
  auto a = make_dataset(d / "a"), b = make_dataset(d / "b");
  engine eng;
  child holder({SERIALAKE_LOCK_CHILD, "hold", a});
  REQUIRE(holder.line() == "locked");
  auto backend = std::make_shared<signalling_backend>();
  auto entered = backend->entered.get_future();
  dataset_options wait_a;
  wait_a.locking = backend;
  wait_a.lock_timeout = 60s;
  auto open_a = std::async(std::launch::async, [&] { return open_code(eng, a, wait_a); });
  REQUIRE(entered.wait_for(30s) == std::future_status::ready);
  // A now waits (up to 60 s) for the child's lock. B must not wait with it.
  auto open_b = std::async(std::launch::async, [&] { return open_code(eng, b, {}); });
  bool b_done = open_b.wait_for(20s) == std::future_status::ready;
  CHECK(open_a.wait_for(0s) == std::future_status::timeout);  // still waiting for the lock
  holder.kill();  // its lock is free at once: A's open goes on
  holder.wait();
  REQUIRE(b_done);
  CHECK(open_b.get() == errc{});
  CHECK(open_a.get() == errc{});
}

TEST_CASE("reopening an open dataset with other options is refused, naming the option") {
  temp_dir d;
  engine eng;
  dataset_options o;
  o.create = true;
  auto ds = eng.open(d / "ds", o);
  std::string msg;
  SECTION("durability") {
    dataset_options durable = o;
    durable.policy.mode = durability::durable;
    CHECK(open_code(eng, d / "ds", durable, &msg) == errc::invalid_argument);
    CHECK_THAT(msg, Catch::Contains("policy.mode") && Catch::Contains(d / "ds"));
  }
  SECTION("queue bound") {
    dataset_options small = o;
    small.queue_bytes = 1 << 20;
    CHECK(open_code(eng, d / "ds", small, &msg) == errc::invalid_argument);
    CHECK_THAT(msg, Catch::Contains("queue_bytes"));
  }
  SECTION("the same options share the dataset; a closed one reopens with any") {
    auto again = eng.open(d / "ds", o);
    again.create_tensor({"x", dtype::bytes, "generic", {}});
    CHECK(ds.tensors().size() == 1);
    ds.close();
    dataset_options durable = o;
    durable.policy.mode = durability::durable;
    CHECK(open_code(eng, d / "ds", durable) == errc{});
  }
}

TEST_CASE("read-only opens of version 0 and of the latest version are different datasets") {
  temp_dir d;
  engine eng;
  dataset_options o;
  o.create = true;
  {
    auto w = eng.open(d / "ds", o);
    w.create_tensor({"x", dtype::bytes, "generic", {}});
    w.append("x", sample::of_bytes("one")).get();
    w.commit("first");
  }
  dataset_options latest;
  latest.read_only = true;
  dataset_options v0;
  v0.version = 0;
  for (bool latest_first : {true, false}) {
    engine e;
    auto first = e.open(d / "ds", latest_first ? latest : v0);
    auto second = e.open(d / "ds", latest_first ? v0 : latest);
    auto& l = latest_first ? first : second;
    auto& z = latest_first ? second : first;
    CHECK(l.snapshot()->version() == 1);
    CHECK(l.snapshot()->length("x") == 1);
    CHECK(z.snapshot()->version() == 0);
    CHECK_FALSE(z.snapshot()->has_tensor("x"));
  }
}

TEST_CASE("an engine destroyed while handles live closes their datasets; the handles then fail with closed") {
  temp_dir t;
  auto eng = std::make_unique<engine>();
  dataset_options o;
  o.create = true;
  auto ds = eng->open(t / "ds", o);
  ds.create_tensor({"w", dtype::int64, "generic", {}});
  auto sub = ds.subscribe([](const commit_event&) {});
  auto then_ran = std::make_shared<std::promise<void>>();
  ds.append("w", sample::scalar<int64_t>(dtype::int64, 7)).then([then_ran](append_future) { then_ran->set_value(); });
  ds.flush();
  auto pending = ds.append("w", sample::scalar<int64_t>(dtype::int64, 8));
  // Kills: a destructor that waits for handles to go (it would never return) or
  // that skips the close (the pending append would not be committed). Detached,
  // so that a hang fails the REQUIRE instead of blocking the test's exit.
  std::promise<void> gone;
  auto destroyed = gone.get_future();
  std::thread([&eng, gone = std::move(gone)]() mutable {
    eng.reset();
    gone.set_value();
  }).detach();
  REQUIRE(destroyed.wait_for(30s) == std::future_status::ready);
  CHECK(then_ran->get_future().wait_for(0s) == std::future_status::ready);
  CHECK(expect_code(errc::closed, [&] { ds.flush(); }));
  CHECK(expect_code(errc::closed, [&] { ds.append("w", sample::scalar<int64_t>(dtype::int64, 9)); }));
  sub.cancel();  // a subscription of a gone engine cancels without waiting on it
  engine again;
  dataset_options ro;
  ro.read_only = true;
  CHECK(again.open(t / "ds", ro).snapshot()->length("w") == 2);
}
