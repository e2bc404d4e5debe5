#pragma once
// Hands results produced out of order by several threads to one consumer in
// sequence order, holding at most `capacity` of them: a producer may start on
// number `seq` only once seq < next + capacity, where `next` is the number the
// consumer waits for. Memory stays bounded however slow one item is.
//
// REQUIRES: every number from 0 up is put exactly once, by the producer that
// passed wait_turn for it; one consumer thread calls take().

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace serialake::cli {

template <class T>
class reorder_window {
 public:
  explicit reorder_window(size_t capacity) : slots_(capacity) {}

  /// Producer: waits until `seq` fits in the window; false once closed.
  bool wait_turn(size_t seq) {
    std::unique_lock<std::mutex> g(mtx_);
    cv_.wait(g, [&] { return closed_ || seq < next_ + slots_.size(); });
    return !closed_;
  }

  /// Producer: the result for `seq` (after wait_turn(seq) returned true).
  void put(size_t seq, T value) {
    std::lock_guard<std::mutex> g(mtx_);
    slots_[seq % slots_.size()] = std::move(value);
    cv_.notify_all();
  }

  /// Consumer: waits for the result of the next number and removes it; nullopt
  /// once closed.
  std::optional<T> take() {
    std::unique_lock<std::mutex> g(mtx_);
    auto& slot = slots_[next_ % slots_.size()];
    cv_.wait(g, [&] { return closed_ || slot.has_value(); });
    if (closed_) return std::nullopt;
    std::optional<T> out = std::move(slot);
    slot.reset();
    ++next_;
    cv_.notify_all();
    return out;
  }

  /// Wakes every waiter; later calls fail at once (the consumer gave up).
  void close() {
    std::lock_guard<std::mutex> g(mtx_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::optional<T>> slots_;
  size_t next_ = 0;
  bool closed_ = false;
};

}  // namespace serialake::cli
