// The ingest queue's completion handshake under real threads.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "actors/ingest_queue.hpp"

using namespace serialake;
using namespace std::chrono_literals;

// The actor publishes a result (op state, release) and then reads the waiter
// count; a future bumps the count and then reads the op state. Each side stores
// one variable and loads the other (store buffering): unless both sides are
// fenced, both loads may see the old values, and the future sleeps through its
// notify. On x86 the window is a few nanoseconds wide and hardly ever hit; on
// weakly ordered CPUs it is real. Each round here is as tight as the protocol
// allows: a lost wake-up shows as a wait that ends only at its timeout. The
// waiter never spins here (spin limit 0), so every round goes through the sleep.
TEST_CASE("a future waiting for its result is never left asleep after the result is published") {
  detail::ingest_queue q(1 << 20, std::nullopt, 0, 0ns);
  constexpr int rounds = 200000;
  std::unique_ptr<detail::append_op[]> ops(new detail::append_op[rounds]);
  std::atomic<int> published{-1}, seen{-1};
  std::atomic<int> lost{0};
  std::thread waiter([&] {
    for (int r = 0; r < rounds; ++r) {
      while (published.load(std::memory_order_acquire) < r) std::this_thread::yield();
      auto t0 = std::chrono::steady_clock::now();
      bool ok = q.wait_done(ops[r], 500ms);
      if (!ok || std::chrono::steady_clock::now() - t0 > 400ms) ++lost;
      seen.store(r, std::memory_order_release);
    }
  });
  for (int r = 0; r < rounds; ++r) {
    published.store(r, std::memory_order_release);
    for (int spin = 0; spin < r % 64; ++spin) std::atomic_signal_fence(std::memory_order_seq_cst);
    ops[r].state.store(detail::append_op::done, std::memory_order_release);
    q.notify_done();
    while (seen.load(std::memory_order_acquire) < r) std::this_thread::yield();
  }
  waiter.join();
  for (int r = 0; r < rounds; ++r) ops[r].refs.store(0);  // never queued: nothing to recycle
  CHECK(lost == 0);
}

// Publishes `op`'s result `after` from now, from another thread, without a notify
// unless `notify`: a waiter that sleeps sees it only if notified.
static std::thread publish_later(detail::ingest_queue& q, detail::append_op& op,
                                 std::chrono::microseconds after, bool notify) {
  return std::thread([&q, &op, after, notify] {
    auto until = std::chrono::steady_clock::now() + after;
    while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
    op.state.store(detail::append_op::done, std::memory_order_release);
    if (notify) q.notify_done();
  });
}

// Kills: a waiter that sleeps at once (no spin): with no notify it would only
// wake at its timeout.
TEST_CASE("a waiter spins for a result that comes soon and needs no notify") {
  detail::ingest_queue q(1 << 20, std::nullopt, 0, 5ms);
  detail::append_op op;
  auto t = publish_later(q, op, 100us, false);
  CHECK(q.wait_done(op, 2s));
  t.join();
  op.refs.store(0);  // never queued: nothing to recycle
}

// Kills: a spin that ignores how long waits take (burning a core through every
// slow commit): once waits are longer than the spin limit, the waiter sleeps at
// once, so a result published without a notify is seen only at its timeout.
TEST_CASE("once waits are longer than the spin limit a waiter sleeps instead of spinning") {
  detail::ingest_queue q(1 << 20, std::nullopt, 0, 50ms);
  constexpr int slow = 4;
  std::unique_ptr<detail::append_op[]> ops(new detail::append_op[slow + 1]);
  for (int i = 0; i < slow; ++i) {  // waits of 100 ms teach the queue that waits are long
    auto t = publish_later(q, ops[i], 100ms, true);
    REQUIRE(q.wait_done(ops[i], 2s));
    t.join();
  }
  // A spinner would see this result at 20 ms, within its limit; a sleeper, never
  // notified, only when its wait times out (and then finds the result there).
  auto t = publish_later(q, ops[slow], 20ms, false);
  auto t0 = std::chrono::steady_clock::now();
  q.wait_done(ops[slow], 200ms);
  CHECK(std::chrono::steady_clock::now() - t0 >= 200ms);
  t.join();
  for (int i = 0; i <= slow; ++i) ops[i].refs.store(0);
}
