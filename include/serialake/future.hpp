#pragma once
// future<T>: the result of an asynchronous dataset call (flush, commit, snapshot),
// waited for with get() or handed to a continuation with then().
//
// Continuations never run on the dataset's writer thread: the writer completes
// the result and posts the continuation to the dataset's callback actor, which
// runs continuations one at a time, in completion order, on the engine's
// scheduler threads. So a program with any number of calls in flight uses no
// thread per call. A continuation attached after the result is ready runs at
// once, on the thread calling then().

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "serialake/error.hpp"

namespace serialake {

namespace detail {

/// Where continuations run (the dataset's callback actor). Thread-safe.
class executor {
 public:
  virtual ~executor() = default;
  /// Runs `fn` later, on another thread; drops it if the dataset is gone.
  virtual void post(std::function<void()> fn) = 0;
};

/// The state a future and its promise share.
template <class T>
struct async_state {
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  std::optional<T> value;
  std::optional<error> err;
  std::function<void()> then;  // set by future::then before done
  std::shared_ptr<executor> runner;

  void finish(std::optional<T> v, std::optional<error> e) {
    std::function<void()> cont;
    {
      std::lock_guard<std::mutex> g(mtx);
      if (done) return;
      value = std::move(v);
      err = std::move(e);
      done = true;
      cont = std::move(then);
    }
    cv.notify_all();
    if (cont) runner->post(std::move(cont));
  }
};

/// The writing side of a future. Destroyed unset (the dataset went away with
/// the request unanswered), it completes the future with errc::closed.
template <class T>
class promise {
 public:
  explicit promise(std::shared_ptr<async_state<T>> s) : s_(std::move(s)) {}
  promise(const promise&) = delete;
  promise& operator=(const promise&) = delete;
  ~promise() { s_->finish(std::nullopt, error(errc::closed, "the dataset closed before answering")); }
  void set_value(T v) { s_->finish(std::move(v), std::nullopt); }
  void set_error(error e) { s_->finish(std::nullopt, std::move(e)); }

 private:
  std::shared_ptr<async_state<T>> s_;
};

}  // namespace detail

/// The result of an asynchronous call. Move-only; get() at most once.
template <class T>
class future {
 public:
  future() = default;
  explicit future(std::shared_ptr<detail::async_state<T>> s) : s_(std::move(s)) {}

  /// Blocks until the result is ready; returns it or throws its error (with its errc).
  T get() {
    auto& s = state();
    std::unique_lock<std::mutex> lk(s.mtx);
    s.cv.wait(lk, [&] { return s.done; });
    if (s.err) throw *s.err;
    return std::move(*s.value);
  }
  /// True once get() would not block.
  bool ready() const {
    if (!s_) return false;
    std::lock_guard<std::mutex> g(s_->mtx);
    return s_->done;
  }
  /// Waits up to `d`; true if ready.
  bool wait_for(std::chrono::nanoseconds d) const {
    if (!s_) return false;
    std::unique_lock<std::mutex> lk(s_->mtx);
    return s_->cv.wait_for(lk, d, [&] { return s_->done; });
  }
  bool valid() const noexcept { return s_ != nullptr; }

  /// Runs `fn(ready future)` once the result is ready, on the dataset's callback
  /// actor (or at once on this thread if it is ready already); consumes this
  /// future. `fn` calls get() for the value or the error. An exception escaping
  /// `fn` on the callback actor terminates the program (naming the dataset), as
  /// from a std::thread; run at once, it propagates to the caller of then().
  void then(std::function<void(future<T>)> fn) && {
    auto s = std::move(s_);
    if (!s) throw error(errc::invalid_argument, "then() on an empty future");
    auto run = [s, fn = std::move(fn)] { fn(future<T>(s)); };
    {
      std::lock_guard<std::mutex> g(s->mtx);
      if (!s->done) {
        s->then = std::move(run);
        return;
      }
    }
    run();
  }

 private:
  detail::async_state<T>& state() const {
    if (!s_) throw error(errc::invalid_argument, "get() on an empty future");
    return *s_;
  }
  std::shared_ptr<detail::async_state<T>> s_;
};

}  // namespace serialake
