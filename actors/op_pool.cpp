#include "actors/op_pool.hpp"

namespace serialake::detail {

// A producer thread's pool. Reference-counted: one for the thread, one per op
// that names it as home, so it outlives every op that may come back to it.
struct op_home {
  std::atomic<append_op*> returned{nullptr};  // pushed by any thread; `gone` once the thread exited
  std::atomic<uint64_t> returned_bytes{0};
  std::atomic<uint32_t> refs{1};
  append_op* free = nullptr;  // owner thread only, like free_bytes
  uint64_t free_bytes = 0;

  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

namespace {

// Marks the return stack of an exited thread; never dereferenced.
append_op* const gone = reinterpret_cast<append_op*>(alignof(append_op));

// This thread's pool while it has one, and whether it is gone (trivially
// destructible, so both stay readable while other thread_local objects are
// destroyed: one of those may still append).
thread_local op_home* this_home = nullptr;
thread_local bool pool_gone = false;

void delete_all(append_op* op) noexcept {
  while (op) {
    append_op* next = op->next;
    delete op;
    op = next;
  }
}

struct home_holder {
  op_home* home = new op_home;
  home_holder() { this_home = home; }
  ~home_holder() {
    this_home = nullptr;
    pool_gone = true;
    delete_all(home->returned.exchange(gone));  // later returns see `gone` and delete
    delete_all(home->free);
    home->free = nullptr;
    home->unref();
  }
};

op_home& my_home() {
  static thread_local home_holder holder;
  return *holder.home;
}

}  // namespace

append_op::~append_op() {
  if (home) home->unref();
}

append_op* new_op() {
  if (pool_gone) return new append_op;  // the thread is exiting: no pool to return to
  op_home& h = my_home();
  if (!h.free) {
    append_op* r = h.returned.exchange(nullptr);
    uint64_t bytes = 0;
    for (append_op* op = r; op; op = op->next) bytes += op->bytes;
    h.returned_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    h.free = r;
    h.free_bytes = bytes;
  }
  append_op* op = h.free;
  if (!op) {
    op = new append_op;
    op->home = &h;
    h.refs.fetch_add(1, std::memory_order_relaxed);
    return op;
  }
  h.free = op->next;
  h.free_bytes -= op->bytes;
  op->next = nullptr;
  op->bytes = 0;
  op->state.store(append_op::pending, std::memory_order_relaxed);
  op->index = 0;
  op->err.reset();
  op->refs.store(2, std::memory_order_relaxed);
  op->then_state.store(append_op::no_then, std::memory_order_relaxed);
  return op;
}

void recycle(append_op* op) noexcept {
  op_home* h = op->home;
  if (!h) return delete op;
  uint64_t bytes = op_bytes(*op);
  if (h == this_home) {  // the home thread itself: no atomics needed
    if (h->free_bytes + bytes > pool_keep_bytes) return delete op;
    op->bytes = bytes;
    op->next = h->free;
    h->free = op;
    h->free_bytes += bytes;
    return;
  }
  if (h->returned_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes > pool_keep_bytes) {
    h->returned_bytes.fetch_sub(bytes, std::memory_order_relaxed);
    return delete op;
  }
  op->bytes = bytes;
  append_op* top = h->returned.load();
  do {
    if (top == gone) {
      h->returned_bytes.fetch_sub(bytes, std::memory_order_relaxed);
      return delete op;
    }
    op->next = top;
  } while (!h->returned.compare_exchange_weak(top, op));
}

}  // namespace serialake::detail
