#pragma once
// The dataset actor and the reader actor: state structs and behaviors.

#include <memory>

#include "actors/actors.hpp"
#include "actors/writer.hpp"

namespace serialake {

/// State of a dataset actor: the writer it drives.
struct dataset_state {
  std::shared_ptr<dataset_writer> writer;
  std::chrono::milliseconds commit_interval{1000};
  static inline const char* name = "serialake.dataset";
};

/// Behavior of a dataset actor (spawn it detached: it blocks on disk I/O).
dataset_actor::behavior_type dataset_actor_impl(dataset_actor::stateful_pointer<dataset_state> self,
                                                std::shared_ptr<dataset_writer> writer,
                                                std::chrono::milliseconds commit_interval);

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
