#pragma once
// Where a dataset's continuations run (future::then, append_future::then): its
// callback actor, reached through a callback_runner that the futures' states and
// the writer share. See actors.hpp's callback_actor.

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "actors/actors.hpp"

namespace serialake {

/// Posts continuations to a dataset's callback actor. Thread-safe. After
/// close(), posts are dropped: the dataset is gone, and so is the actor system
/// its actor ran in.
class callback_runner : public detail::executor {
 public:
  /// Spawns the callback actor of the dataset at `path`.
  callback_runner(caf::actor_system& sys, const std::string& path);
  /// Runs `fn` on the callback actor.
  void post(std::function<void()> fn) override;
  /// Runs each of `fns`, in order, on the callback actor (one message).
  void post_all(std::vector<std::function<void()>> fns);
  /// Lets the actor quit once it ran what was posted before. Idempotent.
  void close();

 private:
  std::mutex mtx_;
  callback_actor actor_;  // guarded by mtx_; null once closed
};

}  // namespace serialake
