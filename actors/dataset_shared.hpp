#pragma once
// What the handle side of serialake shares: the state every copy of a dataset
// handle shares, the engine's internals, and the fork check.
//
// Fork. A child forked from a process with an engine has none of its threads:
// the actor system, the dataset actors and the lock's heartbeat stay behind. Any
// call on an inherited engine or handle would wait for an actor forever, so it
// fails at once (errc::closed, telling to open a new engine in the child), and
// the child's destructors of inherited engines and handles leak them instead of
// talking to actors that are not there: the child never touches the parent's
// lock. Snapshots need no actor: they stay readable (core/chunk_files.cpp keeps
// its mutexes consistent across fork).

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "actors/backend.hpp"
#include "actors/callbacks.hpp"
#include "actors/dataset_actor.hpp"
#include "actors/fork.hpp"
#include "actors/ingest_queue.hpp"
#include "serialake/dataset.hpp"

namespace serialake::detail {

/// What all copies of a dataset handle share.
struct dataset_shared {
  std::string path;
  bool read_only = false;
  dataset_options opts;  // as first opened; a reopen must match (conflicting_option)
  std::shared_ptr<ingest_queue> queue;
  std::shared_ptr<callback_runner> runner;
  caf::actor_system* sys = nullptr;
  uint64_t forks = fork_generation();
  std::mutex mtx;
  dataset_actor actor;  // guarded by mtx; reset on close (no handle may outlive the system)
  // A dataset served elsewhere (actors/backend.hpp): `remote` is set, and so
  // is `backend` (guarded by mtx) until close; `actor` stays null.
  bool remote = false;
  std::shared_ptr<dataset_backend> backend;

  ~dataset_shared();

  /// The dataset actor; throws closed if the dataset is closed, or if this
  /// process is a child forked after it was opened.
  dataset_actor get();

  /// The backend of a remote dataset, or null for a local one; throws closed
  /// if the remote dataset is closed, or if this process is a forked child.
  std::shared_ptr<dataset_backend> remote_backend();
  /// Throws invalid_argument naming `call` if the dataset is remote (a call
  /// that only a local dataset serves).
  void need_local(const char* call) const;

  /// Sends `xs...` plus a promise to `a`; returns the future it completes
  /// (continuations on this dataset's callback actor).
  template <class T, class... Ts>
  future<T> ask(const dataset_actor& a, Ts&&... xs) {
    auto st = std::make_shared<async_state<T>>();
    st->runner = runner;
    caf::anon_send(a, std::forward<Ts>(xs)..., std::make_shared<promise<T>>(st));
    return future<T>(std::move(st));
  }
  /// ask() of the dataset actor (see get()).
  template <class T, class... Ts>
  future<T> call_async(Ts&&... xs) {
    return ask<T>(get(), std::forward<Ts>(xs)...);
  }
  /// Sends `xs...` plus a promise; waits for the answer.
  template <class T, class... Ts>
  T call(Ts&&... xs) {
    return call_async<T>(std::forward<Ts>(xs)...).get();
  }

  /// Closes the dataset; with `report`, throws if its last commit failed.
  void close(bool report);

  /// Adds `who` to the dataset's commit subscribers (it hears of every commit
  /// after this call); returns its id for remove_subscriber.
  uint64_t add_subscriber(commit_subscriber who);
  /// Drops subscriber `id`; nothing if the dataset is closed (its notifier,
  /// and with it the subscriber, is gone).
  void remove_subscriber(uint64_t id);
};

/// The shared state behind a dataset handle, for serialake's own layers that
/// run actors of their own on a dataset (the indexer, the handle's search).
struct dataset_access {
  /// What `d` shares with its copies; throws invalid_argument if `d` is empty.
  static dataset_shared& shared(const dataset& d);
};

/// The engine's internals.
struct engine_access {
  /// The actor system of `e`, for serialake's own layers (readers, the service).
  static caf::actor_system& system(engine& e);
};

}  // namespace serialake::detail
