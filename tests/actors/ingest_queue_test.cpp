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
// allows: a lost wake-up shows as a wait that ends only at its timeout.
TEST_CASE("a future waiting for its result is never left asleep after the result is published") {
  detail::ingest_queue q(1 << 20, std::nullopt, 0);
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
