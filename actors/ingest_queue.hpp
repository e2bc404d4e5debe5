#pragma once
// The handle's path into the dataset actor for appends: a lock-free multi-producer
// stack of append operations that the actor drains whole, plus bulk completion.
//
// Protocol. A producer pushes its op with one CAS. It wakes the actor (the waker:
// one CAF message) only when the stack was empty, or when the bytes pushed since
// the last take cross `batch_bytes`; a thread that waits for a result asks for a
// take at once (hurry). The actor takes the whole stack with one exchange, restores
// push order, applies the ops, and completes their futures with a single notify.
// Woken while no take is due(), the actor waits a little for more (a timer), so a
// steady stream of appends costs one message and one wake-up per batch, not one
// per sample: a wake-up is several microseconds, a 4 KiB append about one.
// While the actor drains (begin_drain .. end_drain) producers do not wake it; at
// end_drain it wakes itself if anything came in. Nothing is stranded: whenever
// the stack is non-empty, the push that made it non-empty has woken the actor or
// found it draining, and a woken actor takes now or arms its timer.
// A waiting thread spins a bounded time for its result before it sleeps, so the
// actor's completion reaches it without a wake-up, unless waits are long anyway
// (see wait_done).
// Real-time order holds: an op pushed after another op's future completed was
// pushed after that op was taken, so it is applied later and gets a higher index.
//
// Backpressure. The bytes of ops pushed but not yet applied are reserved with a
// CAS against the bound before the push; a producer that would pass it waits (or
// times out). A single op larger than the bound is let through an empty queue.
//
// Closing. close() swaps in a marker that every later push sees, so no op can slip
// in after the actor's last drain and never complete.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "serialake/error.hpp"
#include "serialake/types.hpp"

namespace serialake::detail {

struct op_home;
struct append_op;
void recycle(append_op* op) noexcept;  // op_pool.hpp

/// One queued append and its result. Made by new_op() and recycled (op_pool.hpp).
struct append_op {
  /// What to append: one sample of `tensor`, rows, or a batch of samples of `tensor`.
  using payload_t = std::variant<sample, std::vector<row>, std::vector<sample>>;
  enum kind_t : uint8_t { one, rows, batch };  // payload_t's alternatives, in order
  std::string tensor;
  payload_t payload;
  uint64_t bytes = 0;  // memory reserved against the queue bound (in a pool: held there)
  append_op* next = nullptr;

  // Result, written by the actor before `state` is released.
  enum : uint8_t { pending, done, failed };
  std::atomic<uint8_t> state{pending};
  uint64_t index = 0;
  std::unique_ptr<error> err;

  // A continuation (append_future::then): whichever of then() and the actor's
  // completion comes second runs it (then() at once, the actor by posting it to
  // the callback actor); then_state decides which, with one atomic exchange.
  enum : uint8_t { no_then, then_set, completed };
  std::atomic<uint8_t> then_state{no_then};
  std::function<void()> then;

  // One reference for the queue/actor side and one for the future.
  std::atomic<uint32_t> refs{2};
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) recycle(this);
  }

  op_home* home = nullptr;  // the pool of the thread that made it (null: none)
  append_op() = default;
  ~append_op();
};

/// Memory an op holds (its node and every heap block of its payload): what the
/// queue bound limits, so that the bound is a bound on memory.
uint64_t op_bytes(const append_op& op) noexcept;

/// Completes `op` (its index set by the caller) with `e` (null: success):
/// publishes the result, drops the payload its future still holds, moves its
/// continuation (if then() came first) into `thens`, and drops the queue side's
/// reference. The caller then calls ingest_queue::notify_done and runs `thens`.
/// Used by whatever drains the queue (the dataset writer, a remote backend).
void complete_op(append_op* op, const error* e, std::vector<std::function<void()>>& thens);

/// See the protocol above. Thread-safe.
class ingest_queue {
 public:
  /// `bound`: max bytes queued; `timeout`: how long a producer waits for room
  /// (none: wait as long as it takes); `batch_bytes`: a take is due once this
  /// many bytes were pushed since the last one (0: as soon as anything is queued);
  /// `spin_limit`: the longest a waiter spins for its result before it sleeps
  /// (0: never spin; the default covers a durable commit on an SSD).
  ingest_queue(uint64_t bound, std::optional<std::chrono::milliseconds> timeout,
               uint64_t batch_bytes, std::chrono::nanoseconds spin_limit = std::chrono::milliseconds(1));

  /// Sets how producers wake the actor; call before the first push.
  void set_waker(std::function<void()> wake) { wake_ = std::move(wake); }

  /// Producer: reserves room (may block), pushes, wakes the actor per the
  /// protocol. Throws timeout, or closed after close(); on a throw the op was not
  /// queued and the caller still owns both references.
  void push(append_op* op);
  /// Waiter: asks the actor to take now rather than wait for a fuller batch.
  void hurry();

  /// Actor: whether a take is due now (enough bytes, or someone is waiting).
  bool due() const noexcept;
  /// Actor: takes every queued op, oldest first (a singly linked list).
  append_op* take_all() noexcept;
  /// Actor: from here to end_drain() producers do not wake the actor: it is
  /// awake and will look at the queue again (a wake per push would only fill
  /// its mailbox).
  void begin_drain() noexcept { draining_.store(true); }
  /// Actor: ends begin_drain(); true if ops are queued whose producers relied on
  /// it: the actor must wake itself.
  bool end_drain() noexcept;
  /// Actor: like take_all, but if nothing is queued, polls for up to `d` first.
  append_op* take_within(std::chrono::nanoseconds d) noexcept;
  /// Actor: takes every queued op and refuses all later pushes with `why`.
  append_op* close(const error& why);
  /// Actor: returns room for `bytes` to producers.
  void release(uint64_t bytes);
  /// Actor: wakes futures waiting for results just published.
  void notify_done();

  /// Future: blocks until `op` has a result (hurrying the actor), at most `d`
  /// if given; false on timeout. Spins a while before it sleeps (one waiter at a time).
  bool wait_done(const append_op& op, std::optional<std::chrono::nanoseconds> d = std::nullopt);

  /// Bytes reserved right now (pushed, not yet applied).
  uint64_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  /// Highest queued_bytes() ever seen (for tests and the benchmark).
  uint64_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  /// fork_generation() when the queue was made (actors/fork.hpp): a future
  /// waited for in a forked child fails instead of waiting for the parent's actor.
  uint64_t forks() const noexcept { return forks_; }

 private:
  void reserve(uint64_t bytes);
  void wake() noexcept;  // calls wake_; never throws (a queued op must stay queued)

  std::atomic<append_op*> head_{nullptr};
  std::atomic<uint64_t> queued_{0};
  std::atomic<uint64_t> peak_{0};
  std::atomic<uint64_t> fresh_{0};     // bytes pushed since the last take
  std::atomic<bool> hurried_{false};   // a waiter asked for a take; reset by take_all
  std::atomic<bool> draining_{false};  // between begin_drain and end_drain
  std::atomic<bool> spinning_{false};  // a waiter spins for its result (wait_done)
  std::atomic<int64_t> typical_wait_ns_{0};  // the spinners' waits, a moving average; 0: none yet
  std::function<void()> wake_ = [] {};
  const uint64_t bound_;
  const uint64_t batch_bytes_;
  const std::optional<std::chrono::milliseconds> timeout_;
  const std::chrono::nanoseconds spin_limit_;
  std::mutex mtx_;
  // Threads waiting on one condition, counted so that notifying is free while
  // nobody waits (the common case, on the actor's hot path).
  struct waitlist {
    std::condition_variable cv;
    std::atomic<int> count{0};
    /// Waits (lk held) until `ready`, at most `d` if given; false on timeout.
    template <class Pred>
    bool wait(std::unique_lock<std::mutex>& lk, std::optional<std::chrono::nanoseconds> d, Pred ready);
    /// Wakes every waiter; `m` is the mutex they wait with.
    void notify(std::mutex& m);
  };
  waitlist room_, done_;  // producers waiting for room; futures waiting for results
  std::optional<error> closed_;  // guarded by mtx_
  const uint64_t forks_;
};

}  // namespace serialake::detail
