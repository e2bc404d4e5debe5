#pragma once
// The dataset actor and the reader actor: state structs and behaviors.

#include <memory>

#include "actors/actors.hpp"
#include "actors/writer.hpp"
#include "serialake/lock.hpp"

namespace serialake {

/// What a dataset actor starts with.
struct dataset_init {
  std::shared_ptr<dataset_writer> writer;
  std::shared_ptr<dataset_lock> lock;  ///< null for read-only datasets
  std::chrono::milliseconds heartbeat{1000};
};

/// State of a dataset actor: the writer it drives and the lock it writes under.
struct dataset_state {
  dataset_init init;
  lock_actor locker;  ///< the file-lock actor keeping `init.lock` alive
  notifier_actor notifier;  ///< commit notifications; spawned by the first subscriber
  bool drain_armed = false;  ///< a delayed drain_atom is on its way
  static inline const char* name = "serialake.dataset";
};

/// Behavior of a dataset actor (spawn it detached: it blocks on disk I/O).
dataset_actor::behavior_type dataset_actor_impl(dataset_actor::stateful_pointer<dataset_state> self,
                                                dataset_init init);

/// State of a file-lock actor.
struct lock_state {
  std::shared_ptr<dataset_lock> lock;
  dataset_actor owner;
  std::chrono::milliseconds period{1000};
  static inline const char* name = "serialake.lock";
};

/// Behavior of a file-lock actor (spawn it detached: heartbeats sync the file).
lock_actor::behavior_type lock_actor_impl(lock_actor::stateful_pointer<lock_state> self,
                                          std::shared_ptr<dataset_lock> lock, dataset_actor owner,
                                          std::chrono::milliseconds period);

/// State of a reader actor: the snapshot it serves.
struct reader_state {
  snapshot_ptr snap;
  static inline const char* name = "serialake.reader";
};

/// Behavior of a reader actor.
reader_actor::behavior_type reader_actor_impl(reader_actor::stateful_pointer<reader_state> self,
                                              snapshot_ptr snap);

/// Spawns a reader actor over `snap` (detached: reads may touch the disk).
reader_actor spawn_reader(caf::actor_system& sys, snapshot_ptr snap);

}  // namespace serialake
