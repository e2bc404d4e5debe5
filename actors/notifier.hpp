#pragma once
// Commit notifications: the notifier actor (actors.hpp's notifier_actor) and the
// actor that wraps a subscriber's callback (dataset::subscribe).

#include <functional>
#include <memory>
#include <mutex>

#include "actors/actors.hpp"

namespace serialake {

/// Merges `later` into `pending`: the commit becomes the later one, each
/// tensor's range is extended to the later end (ranges of one tensor are
/// contiguous from commit to commit), first_version stays.
void merge_into(commit_event& pending, const commit_event& later);

/// Spawns the notifier of dataset actor `owner` (scheduled: it never blocks);
/// it quits on close_atom, or when `owner` goes.
notifier_actor spawn_notifier(caf::actor_system& sys, const dataset_actor& owner);

/// A callback subscriber's shared part: the subscription handle cancels it, the
/// wrapper actor calls it.
struct callback_subscriber {
  std::mutex mtx;  // held while fn runs, so that cancel() can wait for a call
  std::function<void(const commit_event&)> fn;
  bool cancelled = false;
  /// Calls fn unless cancelled.
  void deliver(const commit_event& e);
  /// No more calls once it returns (unless called from inside fn).
  void cancel();
};

/// Spawns the scheduled actor that answers the notifier by calling `sub`.
commit_subscriber spawn_callback_subscriber(caf::actor_system& sys, std::shared_ptr<callback_subscriber> sub);

}  // namespace serialake
