// Asynchronous completion (append_future::then, flush/commit/snapshot_async),
// commit notifications (dataset::subscribe) and fork safety.
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "serialake/dataset.hpp"
#include "tests/expect_code.hpp"
#include "tests/proc_count.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::expect_code;
using serialake::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// A sync point: counts events; waits (bounded) for a count.
struct counter {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t n = 0;
  void add(uint64_t k = 1) {
    {
      std::lock_guard<std::mutex> g(mtx);
      n += k;
    }
    cv.notify_all();
  }
  bool wait_for(uint64_t want, std::chrono::seconds limit = 60s) {
    std::unique_lock<std::mutex> lk(mtx);
    return cv.wait_for(lk, limit, [&] { return n >= want; });
  }
  uint64_t get() {
    std::lock_guard<std::mutex> g(mtx);
    return n;
  }
};

// A gate a callback waits at until the test opens it (bounded).
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool open = false;
  void release() {
    {
      std::lock_guard<std::mutex> g(mtx);
      open = true;
    }
    cv.notify_all();
  }
  bool pass() {
    std::unique_lock<std::mutex> lk(mtx);
    return cv.wait_for(lk, 60s, [&] { return open; });
  }
};

dataset_options create_opts() {
  dataset_options o;
  o.create = true;
  return o;
}

pid_t this_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace

// Kills: a then() that spawns a thread (or blocks one) per future, a
// continuation run twice or never, the wrong index handed to it, continuations
// run out of completion order.
TEST_CASE("100,000 appends in flight complete through then() on a bounded number of threads") {
  temp_dir d;
  engine_options eo;
  eo.threads = 2;
  engine eng(eo);
  auto opts = create_opts();
  opts.queue_bytes = 256ull << 20;  // room for every append at once
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::int64, "generic", {}});
  const size_t threads_before = test::proc_entries("/proc/self/task");
  constexpr uint64_t n = 100000;
  std::vector<std::atomic<uint8_t>> seen(n);
  std::atomic<uint64_t> out_of_order{0}, last{0}, wrong_value{0}, inline_runs{0};
  std::atomic<size_t> max_threads{0};
  counter done;
  const pid_t producer = this_tid();
  for (uint64_t i = 0; i < n; ++i)
    ds.append("x", sample::scalar<int64_t>(dtype::int64, static_cast<int64_t>(i)))
      .then([&, i](append_future f) {
        const uint64_t idx = f.get();
        if (idx != i) wrong_value++;  // one producer: index == order of append
        if (idx < n) seen[idx]++;
        if (this_tid() == producer) {
          inline_runs++;  // then() came after completion: ran at once, here
        } else {          // posted by the writer: in completion order
          if (idx < last.load()) out_of_order++;
          last = idx;
        }
        if (idx % 1000 == 0) {
          size_t t = test::proc_entries("/proc/self/task");
          size_t m = max_threads.load();
          while (t > m && !max_threads.compare_exchange_weak(m, t)) {
          }
        }
        done.add();
      });
  REQUIRE(done.wait_for(n));
  uint64_t once = 0;
  for (auto& s : seen) once += s.load() == 1;
  CHECK(once == n);
  CHECK(wrong_value == 0);
  CHECK(out_of_order == 0);
  // The engine's scheduler (2 threads) was running before; nothing per future.
  CHECK(max_threads.load() <= threads_before + 1);
  INFO("continuations run inline (append already complete): " << inline_runs.load());
  CHECK(ds.flush().samples <= n);
  CHECK(ds.snapshot()->length("x") == n);
}

// Kills: an error replaced by a generic one on the async path; then() on a
// completed future waiting for the actor instead of running at once.
TEST_CASE("then() hands over errors with their errc, and runs at once if already complete") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::int64, "generic", {}});
  counter c;
  errc got = errc::internal;
  ds.append("nope", sample::scalar<int64_t>(dtype::int64, 1)).then([&](append_future f) {
    try {
      f.get();
    } catch (const error& e) {
      got = e.code();
    }
    c.add();
  });
  REQUIRE(c.wait_for(1));
  CHECK(got == errc::not_found);

  auto f = ds.append("x", sample::scalar<int64_t>(dtype::int64, 5));
  REQUIRE(f.wait_for(30s));
  pid_t ran_on = 0;
  std::move(f).then([&](append_future g) {
    ran_on = this_tid();
    CHECK(g.get() == 0);
  });
  CHECK(ran_on == this_tid());  // ran before then() returned, on this thread
  CHECK(expect_code(errc::invalid_argument, [&] { std::move(f).then([](append_future) {}); }));
}

// Kills: async calls that block the caller, or whose continuation never runs,
// or that lose the errc of a refused commit.
TEST_CASE("flush_async, commit_async and snapshot_async complete through then()") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  for (int i = 0; i < 10; ++i) ds.append("x", sample::of_bytes(std::to_string(i)));
  counter c;
  commit_info flushed, named;
  uint64_t seen_length = 0;
  ds.flush_async().then([&](future<commit_info> f) {
    flushed = f.get();
    c.add();
  });
  ds.append("x", sample::of_bytes("more"));
  ds.commit_async("tagged").then([&](future<commit_info> f) {
    named = f.get();
    c.add();
  });
  ds.snapshot_async().then([&](future<std::shared_ptr<const snapshot>> f) {
    seen_length = f.get()->length("x");
    c.add();
  });
  REQUIRE(c.wait_for(3));
  CHECK(flushed.version == 1);
  CHECK(flushed.samples >= 10);  // and "more" too, if queued before the actor took the flush
  CHECK(named.version == 2);
  CHECK(named.message == "tagged");
  CHECK(seen_length == 11);  // the snapshot sees every append queued before it
  CHECK(expect_code(errc::invalid_argument, [&] { ds.commit_async(""); }));

  dataset_options ro;
  ro.read_only = true;
  auto r = eng.open(d / "ds", ro);
  auto f = r.commit_async("not allowed");
  REQUIRE(f.wait_for(30s));
  CHECK(expect_code(errc::read_only, [&] { f.get(); }));
}

// Kills: events without ranges or versions, events for commits of other
// datasets, and a subscription that keeps calling after cancel().
TEST_CASE("subscribers hear of each commit: version and the new range of each tensor") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::int64, "generic", {}});
  ds.create_tensor({"y", dtype::int64, "generic", {}});
  std::mutex mtx;
  std::vector<commit_event> events;
  counter c;
  auto sub = ds.subscribe([&](const commit_event& e) {
    {
      std::lock_guard<std::mutex> g(mtx);
      events.push_back(e);
    }
    c.add();
  });
  for (int i = 0; i < 3; ++i) ds.append("x", sample::scalar<int64_t>(dtype::int64, i));
  for (int i = 0; i < 2; ++i) ds.append("y", sample::scalar<int64_t>(dtype::int64, i));
  auto v1 = ds.flush().version;
  ds.append("x", sample::scalar<int64_t>(dtype::int64, 9));
  auto v2 = ds.commit("second").version;
  ds.commit("nothing new");
  REQUIRE(c.wait_for(3));
  std::lock_guard<std::mutex> g(mtx);
  REQUIRE(events.size() == 3);
  CHECK(events[0].commit.version == v1);
  CHECK(events[0].first_version == v1);
  REQUIRE(events[0].ranges.size() == 2);
  CHECK(events[0].ranges[0].tensor == "x");
  CHECK(events[0].ranges[0].begin == 0);
  CHECK(events[0].ranges[0].end == 3);
  CHECK(events[0].ranges[1].tensor == "y");
  CHECK(events[0].ranges[1].end == 2);
  CHECK(events[1].commit.version == v2);
  CHECK(events[1].commit.message == "second");
  REQUIRE(events[1].ranges.size() == 1);
  CHECK(events[1].ranges[0].begin == 3);
  CHECK(events[1].ranges[0].end == 4);
  CHECK(events[2].ranges.empty());
}

// Kills: a notifier that calls subscribers on the writer's thread (the writer
// would stop at the blocked subscriber), that queues every event for a slow
// subscriber (it would get 40 events, not one merged), or that loses the
// samples of the commits it merged.
TEST_CASE("a slow subscriber never slows the writer, and gets the commits it missed merged") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::int64, "generic", {}});
  gate blocked;
  std::mutex mtx;
  std::vector<commit_event> slow_events;
  counter slow_calls, fast_samples;
  auto slow = ds.subscribe([&](const commit_event& e) {
    {
      std::lock_guard<std::mutex> g(mtx);
      slow_events.push_back(e);
    }
    slow_calls.add();
    if (slow_events.size() == 1) blocked.pass();
  });
  auto fast = ds.subscribe([&](const commit_event& e) {
    for (auto& r : e.ranges) fast_samples.add(r.end - r.begin);
  });
  constexpr int commits = 40;
  for (int i = 0; i < commits; ++i) {
    ds.append("x", sample::scalar<int64_t>(dtype::int64, i));
    ds.flush();  // returns although the slow subscriber is stuck in its first call
  }
  REQUIRE(fast_samples.wait_for(commits));  // the other subscriber is not held up
  CHECK(slow_calls.get() == 1);
  blocked.release();
  REQUIRE(slow_calls.wait_for(2));
  ds.close();  // its last events are handed over before the notifier goes
  std::lock_guard<std::mutex> g(mtx);
  REQUIRE(slow_events.size() == 2);
  const auto& merged = slow_events[1];
  CHECK(merged.first_version == 2);
  CHECK(merged.commit.version == commits);
  REQUIRE(merged.ranges.size() == 1);
  CHECK(merged.ranges[0].begin == 1);
  CHECK(merged.ranges[0].end == commits);
}

TEST_CASE("a cancelled subscription is called no more") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::int64, "generic", {}});
  counter a_calls, b_calls;
  auto a = ds.subscribe([&](const commit_event&) { a_calls.add(); });
  auto b = ds.subscribe([&](const commit_event&) { b_calls.add(); });
  ds.append("x", sample::scalar<int64_t>(dtype::int64, 1));
  ds.flush();
  REQUIRE(a_calls.wait_for(1));
  a.cancel();
  ds.append("x", sample::scalar<int64_t>(dtype::int64, 2));
  ds.flush();
  REQUIRE(b_calls.wait_for(2));  // the notifier has handled the second commit
  CHECK(a_calls.get() == 1);
}

namespace {

std::string read_file(const std::string& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

// Kills: a forked child that hangs on the parent's actors (the child is killed
// at its timeout and the test fails), that releases or rewrites the parent's
// lock (the parent's lock file changes and its next commit fails), or whose
// snapshot cannot be read.
TEST_CASE("after fork, the child's calls fail at once, its snapshot reads, and the parent's lock is untouched") {
  temp_dir d;
  auto eng = std::make_unique<engine>();
  auto ds = eng->open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  for (int i = 0; i < 10; ++i) ds.append("x", sample::of_bytes("s" + std::to_string(i)));
  ds.flush();
  auto snap = ds.snapshot();
  auto pending = ds.append("x", sample::of_bytes("maybe pending"));
  const std::string lock_before = read_file(d / "ds/lock");
  test::child kid([&]() -> int {
    std::string msg;
    if (!expect_code(errc::closed, [&] { ds.append("x", sample::of_bytes("child")); }, &msg)) return 1;
    if (msg.find("open a new serialake::engine in the child") == std::string::npos) return 2;
    if (!expect_code(errc::closed, [&] { ds.flush(); })) return 3;
    if (!expect_code(errc::closed, [&] { eng->open(d / "other", create_opts()); })) return 4;
    if (!pending.ready() && !expect_code(errc::closed, [&] { pending.get(); })) return 5;
    if (snap->read("x", 7).data != "s7") return 6;
    // Dropping the inherited handles and engine must neither hang nor touch the lock.
    pending = append_future();
    ds = dataset();
    eng.reset();
    // A new engine in the child works.
    engine mine;
    auto other = mine.open(d / "child", create_opts());
    other.create_tensor({"x", dtype::bytes, "generic", {}});
    other.append("x", sample::of_bytes("hello"));
    if (other.flush().version != 1) return 7;
    return 0;
  });
  const int status = kid.wait(60s);
  REQUIRE_FALSE(kid.timed_out());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The parent still holds its lock and commits.
  auto lock_after = read_file(d / "ds/lock");
  auto field = [](const std::string& s, const std::string& k) {
    auto p = s.find("\"" + k + "\"");
    return p == std::string::npos ? std::string() : s.substr(p, s.find(',', p) - p);
  };
  for (const char* k : {"state", "pid", "generation", "token"}) CHECK(field(lock_after, k) == field(lock_before, k));
  ds.append("x", sample::of_bytes("parent"));
  CHECK(ds.flush().version == 2);
}
