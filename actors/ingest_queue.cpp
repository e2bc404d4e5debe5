#include "actors/ingest_queue.hpp"

#include <algorithm>
#include <thread>

#include "actors/fork.hpp"

namespace serialake::detail {
namespace {

// Marks a closed queue in head_; never dereferenced.
append_op* const closed_marker = reinterpret_cast<append_op*>(alignof(append_op));

constexpr uint64_t malloc_overhead = 16;

uint64_t heap_bytes(const std::string& s) noexcept {
  return s.capacity() > 15 ? s.capacity() + 1 + malloc_overhead : 0;
}

uint64_t heap_bytes(const sample& s) noexcept {
  return heap_bytes(s.data) + (s.shape.capacity() ? s.shape.capacity() * 8 + malloc_overhead : 0);
}

}  // namespace

uint64_t op_bytes(const append_op& op) noexcept {
  uint64_t n = sizeof(append_op) + malloc_overhead + heap_bytes(op.tensor);
  if (auto* one = std::get_if<sample>(&op.payload)) {
    n += heap_bytes(*one);
  } else if (auto* rows = std::get_if<std::vector<row>>(&op.payload)) {
    n += rows->capacity() * sizeof(row);
    for (auto& r : *rows) {
      n += r.capacity() * sizeof(row::value_type) + malloc_overhead;
      for (auto& kv : r) n += heap_bytes(kv.first) + heap_bytes(kv.second);
    }
  } else if (auto* batch = std::get_if<std::vector<sample>>(&op.payload)) {
    n += batch->capacity() * sizeof(sample) + malloc_overhead;
    for (auto& s : *batch) n += heap_bytes(s);
  }
  return n;
}

void complete_op(append_op* op, const error* e, std::vector<std::function<void()>>& thens) {
  // The future still holds the op: drop the sample bytes now (emplace: a string
  // assigned from an empty one keeps its buffer), or a program that keeps its
  // futures would keep every sample too. Ops whose future is gone keep their
  // buffers for their producer's next append.
  if (op->refs.load(std::memory_order_acquire) > 1) op->payload.emplace<sample>();
  if (e) op->err = std::make_unique<error>(*e);
  op->state.store(e ? append_op::failed : append_op::done, std::memory_order_release);
  if (op->then_state.exchange(append_op::completed, std::memory_order_acq_rel) == append_op::then_set)
    thens.push_back(std::move(op->then));
  op->release();
}

ingest_queue::ingest_queue(uint64_t bound, std::optional<std::chrono::milliseconds> timeout,
                           uint64_t batch_bytes, std::chrono::nanoseconds spin_limit)
  : bound_(bound), batch_bytes_(batch_bytes), timeout_(timeout), spin_limit_(spin_limit),
    forks_(fork_generation()) {}

// Waiter and notifier form a store-buffering pair. The waiter stores `count`,
// then loads the state it waits on (an op's state, queued_); the notifier
// stores that state (writer.cpp's finish: a release store; release() in
// this file: an RMW), then loads `count`. Release/acquire orders neither store
// before the other side's later load: without a seq_cst fence on each side, both
// loads may see the old values, the notifier skips the notify and the waiter
// sleeps through its result. With the two fences, one of the loads sees the
// other side's store: the waiter finds its state ready, or the notifier finds it
// counted (and then takes mtx_, which the waiter holds until it sleeps).
template <class Pred>
bool ingest_queue::waitlist::wait(std::unique_lock<std::mutex>& lk,
                                  std::optional<std::chrono::nanoseconds> d, Pred ready) {
  count.fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // count before the state (see above)
  bool ok = true;
  if (d)
    ok = cv.wait_for(lk, *d, ready);
  else
    cv.wait(lk, ready);
  count.fetch_sub(1, std::memory_order_relaxed);  // a stale count only costs a spare notify
  return ok;
}

void ingest_queue::waitlist::notify(std::mutex& m) {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the state before count (see wait)
  if (count.load(std::memory_order_relaxed) == 0) return;
  { std::lock_guard<std::mutex> g(m); }  // a waiter between its check and its sleep gets this notify
  cv.notify_all();
}

void ingest_queue::reserve(uint64_t bytes) {
  uint64_t q = queued_.load(std::memory_order_relaxed);
  for (;;) {
    if (q == 0 || q + bytes <= bound_) {
      if (queued_.compare_exchange_weak(q, q + bytes, std::memory_order_acq_rel)) break;
      continue;
    }
    hurry();  // the room comes back only as the actor applies what is queued
    std::unique_lock<std::mutex> lk(mtx_);
    bool ok = room_.wait(lk, timeout_, [&] {
      q = queued_.load();
      return closed_ || q == 0 || q + bytes <= bound_;
    });
    if (closed_) throw error(closed_->code(), closed_->message());
    if (!ok)
      throw error(errc::timeout, "the dataset's write queue stayed full for " +
                                     std::to_string(timeout_->count()) + " ms");
  }
  uint64_t now = q + bytes, peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void ingest_queue::push(append_op* op) {
  op->bytes = op_bytes(*op);
  reserve(op->bytes);
  append_op* h = head_.load(std::memory_order_relaxed);
  do {
    if (h == closed_marker) {
      release(op->bytes);
      std::lock_guard<std::mutex> g(mtx_);
      throw error(closed_->code(), closed_->message());
    }
    op->next = h;
  } while (!head_.compare_exchange_weak(h, op));
  uint64_t before = fresh_.fetch_add(op->bytes);
  bool crossed = before < batch_bytes_ && before + op->bytes >= batch_bytes_;
  // seq_cst push, then this load; end_drain stores, then loads head_: either
  // this sees the drain ended, or end_drain sees this op.
  if ((h == nullptr || crossed) && !draining_.load()) wake();
}

void ingest_queue::wake() noexcept {
  try {
    wake_();
  } catch (...) {
    // Out of memory for a message: the op is queued (it must not be freed now),
    // and the next push, waiter or timer wakes the actor.
  }
}

void ingest_queue::hurry() {
  // With batch_bytes_ 0 every take is due: the push that filled the stack woke
  // the actor already, and another message would only cost it a wake-up.
  if (batch_bytes_ > 0 && !hurried_.exchange(true) && !draining_.load()) wake();
}

bool ingest_queue::end_drain() noexcept {
  draining_.store(false);
  append_op* h = head_.load();
  return h != nullptr && h != closed_marker;
}

bool ingest_queue::due() const noexcept {
  return hurried_.load() || fresh_.load() >= batch_bytes_;
}

namespace {

append_op* reverse(append_op* h) {
  append_op* out = nullptr;
  while (h) {
    append_op* n = h->next;
    h->next = out;
    out = h;
    h = n;
  }
  return out;
}

}  // namespace

append_op* ingest_queue::take_all() noexcept {
  // Reset before the exchange: a waiter whose hurry() finds the flag still set
  // pushed its op before this exchange, so the op is taken here (seq_cst order).
  hurried_.store(false);
  fresh_.store(0);
  append_op* h = head_.load();
  if (h == nullptr || h == closed_marker) return nullptr;
  h = head_.exchange(nullptr);
  return h == closed_marker ? nullptr : reverse(h);
}

append_op* ingest_queue::take_within(std::chrono::nanoseconds d) noexcept {
  auto deadline = std::chrono::steady_clock::now() + d;
  while (head_.load(std::memory_order_relaxed) == nullptr) {
    if (std::chrono::steady_clock::now() >= deadline) return nullptr;
    // Not a busy pause: on a loaded machine the producer we wait for may share
    // this core, and a pause loop would keep it off for all of `d`.
    std::this_thread::yield();
  }
  return take_all();
}

append_op* ingest_queue::close(const error& why) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    closed_ = why;
  }
  room_.cv.notify_all();  // closed_ is set under mtx_: no waiter can miss it
  append_op* h = head_.exchange(closed_marker, std::memory_order_acq_rel);
  return h == closed_marker ? nullptr : reverse(h);
}

void ingest_queue::release(uint64_t bytes) {
  queued_.fetch_sub(bytes);
  room_.notify(mtx_);
}

void ingest_queue::notify_done() { done_.notify(mtx_); }

// The second hand-off of an append (actor to waiter) costs a thread wake-up when
// the waiter sleeps: tens of microseconds on a VM, whose idle vCPU must be woken
// by the host. So a waiter spins for its result, yielding, before it sleeps, if
// it is the only one waiting: with others asleep the commit is a group's, whose
// one wake-up is shared, and a spinner would take a core from the actor and
// the other writers.
// A spinning waiter is not counted in done_, so completing its op costs the
// actor no notify either. It spins up to twice the typical wait (a moving
// average of the spinner's waits), at most spin_limit_, and not at all when waits
// are longer than that (a disk whose syncs take milliseconds): there a wake-up
// is a few percent of the wait, and spinning would burn a core for nothing.
bool ingest_queue::wait_done(const append_op& op, std::optional<std::chrono::nanoseconds> d) {
  using namespace std::chrono;
  auto done = [&] { return op.state.load(std::memory_order_acquire) != append_op::pending; };
  if (done()) return true;
  hurry();
  const bool others_asleep = done_.count.load(std::memory_order_relaxed) > 0;
  if (others_asleep || spinning_.exchange(true, std::memory_order_acquire)) {
    std::unique_lock<std::mutex> lk(mtx_);
    return done_.wait(lk, d, done);
  }
  const auto start = steady_clock::now();
  const nanoseconds typical{typical_wait_ns_.load(std::memory_order_relaxed)};
  nanoseconds budget = typical.count() == 0 ? spin_limit_
                       : typical > spin_limit_ ? nanoseconds(0)
                                               : std::min<nanoseconds>(2 * typical, spin_limit_);
  if (d) budget = std::min(budget, *d);
  bool ready = done();
  while (!ready && steady_clock::now() - start < budget) {
    std::this_thread::yield();  // the actor or another process may need this core
    ready = done();
  }
  if (!ready) {
    if (d) d = *d - std::min<nanoseconds>(*d, steady_clock::now() - start);
    std::unique_lock<std::mutex> lk(mtx_);
    ready = done_.wait(lk, d, done);
  }
  if (ready) {
    const nanoseconds took = steady_clock::now() - start;
    const nanoseconds avg = typical.count() == 0 ? took : typical + (took - typical) / 8;
    typical_wait_ns_.store(avg.count(), std::memory_order_relaxed);
  }
  spinning_.store(false, std::memory_order_release);
  return ready;
}

}  // namespace serialake::detail
