#pragma once
// Every typed actor interface of serialake, with what each handler does.
//
// Replies to plain threads (the public handle) travel in a promise carried by the
// message: a scoped_actor request/receive round trip costs tens of microseconds on
// this kind of machine, a promise about two (see CAF-NOTES). The promise is the
// public future's (serialake/future.hpp): a caller may block on it or attach a
// continuation; a message dropped unanswered completes it with errc::closed.
//
// Errors between actors (request/response, e.g. a reader actor's replies) are
// caf::errors of the category "serialake" whose code is the errc and whose
// context is the message: see to_caf_error / from_caf_error (actors/caf_error.hpp).

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/store.hpp"
#include "serialake/future.hpp"
#include "serialake/handle_search.hpp"
#include "serialake/search.hpp"
#include "serialake/snapshot.hpp"

namespace serialake {

/// An answer with no value (create_tensor, close).
struct ack {};

/// Where a handler puts its answer for a waiting thread.
template <class T>
using reply = std::shared_ptr<detail::promise<T>>;

using snapshot_ptr = std::shared_ptr<const snapshot>;

/// Continuations to run, in order (callback_actor).
struct callbacks {
  std::vector<std::function<void()>> fns;
};

using wake_atom = caf::atom_constant<caf::atom("wake")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using tensors_atom = caf::atom_constant<caf::atom("tensors")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using length_atom = caf::atom_constant<caf::atom("length")>;
using lost_atom = caf::atom_constant<caf::atom("lost")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using search_atom = caf::atom_constant<caf::atom("search")>;

/// One search for a searcher actor: queries copied from the caller, who may
/// free theirs once the call returns.
struct search_request {
  std::string tensor;
  std::vector<float> queries;  ///< row-major: `count` vectors of `dim` floats
  size_t count = 0;
  size_t dim = 0;
  search_options opts;
};

/// Hears of a dataset's commits (dataset::subscribe wraps a callback in one; the
/// service and indexers may implement it themselves). The notifier sends it one
/// event at a time and merges the commits that come meanwhile.
using commit_subscriber = caf::typed_actor<
    /// A commit (or several merged): handle it, then reply true to get the next.
    caf::replies_to<notify_atom, commit_event>::with<bool>>;

/// Tells a dataset's subscribers of its commits without ever holding up the
/// writer. Scheduled; spawned by the dataset actor.
using notifier_actor = caf::typed_actor<
    /// The writer committed: send it to each idle subscriber; merge it into the
    /// pending event of each busy one.
    caf::reacts_to<notify_atom, commit_event>,
    /// Adds a subscriber under `id`: it hears of every commit after this message.
    caf::reacts_to<subscribe_atom, uint64_t, commit_subscriber>,
    /// Drops subscriber `id`.
    caf::reacts_to<unsub_atom, uint64_t>,
    /// The dataset closed: hands each subscriber what is pending, and quits.
    caf::reacts_to<close_atom>>;

/// Runs the continuations of a dataset's futures (future::then,
/// append_future::then) one at a time, in the order posted. Scheduled: a program
/// with any number of futures in flight uses the scheduler's threads only.
using callback_actor = caf::typed_actor<
    /// Runs each continuation, in order.
    caf::reacts_to<run_atom, callbacks>,
    /// Quits, after the continuations posted before.
    caf::reacts_to<close_atom>>;

/// Owns one open dataset's store; the only code that mutates it. Runs detached
/// (its own thread): its handlers write and fsync. Handlers that read or change
/// the dataset first drain the ingest queue, so they see every append queued
/// before their message was sent.
using dataset_actor = caf::typed_actor<
    /// Producers queued appends: if a batch is due, applies and commits them
    /// (durable: also the appends that follow for a few commits, see
    /// dataset_writer::serve); else arms one drain_atom after drain_delay.
    caf::reacts_to<wake_atom>,
    /// The delayed drain armed by wake_atom: applies all queued appends in order,
    /// completes their futures in bulk, commits per the durability policy.
    caf::reacts_to<drain_atom>,
    /// Buffered mode's commit timer: commits what is pending.
    caf::reacts_to<tick_atom>,
    /// Adds a tensor to the schema.
    caf::reacts_to<create_atom, tensor_spec, reply<ack>>,
    /// Commits everything queued so far as one version; an empty message is a
    /// flush (no new version if nothing is pending).
    caf::reacts_to<commit_atom, std::string, reply<commit_info>>,
    /// The commit log (true: every commit, false: named ones).
    caf::reacts_to<log_atom, bool, reply<std::vector<commit_info>>>,
    /// The last commit as an immutable snapshot.
    caf::reacts_to<snapshot_atom, reply<snapshot_ptr>>,
    /// Read-only datasets: picks up newer commits of another writer.
    caf::reacts_to<refresh_atom, reply<bool>>,
    /// The tensors' specs.
    caf::reacts_to<tensors_atom, reply<std::vector<tensor_spec>>>,
    /// Adds a commit subscriber (to the notifier, spawned on first use): it
    /// hears of every commit after this message. Replies the current version.
    caf::reacts_to<subscribe_atom, uint64_t, commit_subscriber, reply<uint64_t>>,
    /// Drops a commit subscriber.
    caf::reacts_to<unsub_atom, uint64_t>,
    /// The file-lock actor found the lock lost: refuse every later write with
    /// lock_lost and give the OS lock up.
    caf::reacts_to<lost_atom, std::string>,
    /// Commits what is pending, releases the lock, fails later calls, closes
    /// the notifier, and quits.
    caf::reacts_to<close_atom, reply<ack>>>;

/// Owns a writer's dataset lock for its dataset actor (which spawns it): keeps
/// the heartbeat fresh so other hosts see the holder alive. Detached: it syncs.
using lock_actor = caf::typed_actor<
    /// Refreshes the heartbeat; if the lock was lost, tells the dataset actor
    /// (lost_atom) and stops refreshing.
    caf::reacts_to<tick_atom>,
    /// Stops and quits (the dataset actor releases the lock after its last commit).
    caf::reacts_to<close_atom>>;

/// Serves reads from one immutable snapshot; never touches the writer. Errors
/// are caf::errors that keep their errc (from_caf_error in actors/caf_error.hpp).
using reader_actor = caf::typed_actor<
    /// Sample `index` of tensor `name`.
    caf::replies_to<read_atom, std::string, uint64_t>::with<sample>,
    /// Committed length of tensor `name`.
    caf::replies_to<length_atom, std::string>::with<uint64_t>>;

/// Keeps one tensor's ANN index current (search/indexer_actor.cpp, behind
/// serialake::indexer). Detached: an update inserts rows into an HNSW graph and
/// writes it to disk, for as long as that takes. It is a commit_subscriber of
/// its dataset, so the writer never waits for it: the notifier merges the
/// commits that come while it is busy into its next event.
using indexer_actor = caf::typed_actor<
    /// A commit (or several merged, or the catch-up sent at start): adds the
    /// rows of the dataset's last commit the index lacks and saves it, then
    /// replies true to get the next event. After a failed update it only
    /// replies (the error is kept for indexer::wait_for_rows).
    caf::replies_to<notify_atom, commit_event>::with<bool>,
    /// Its indexer handle went: quits (after the update in progress).
    caf::reacts_to<close_atom>>;

/// Answers one search over one immutable snapshot, then quits
/// (search/handle_search.cpp, behind serialake::search on a dataset). Detached
/// and one per search: a search is CPU-bound for as long as the scan takes, so
/// each runs on a thread of its own, in parallel with the others and with the
/// writer, and never on the scheduler's threads that run continuations.
using searcher_actor = caf::typed_actor<
    /// Searches the snapshot the actor was spawned with; completes the promise
    /// with the hits or the error (its errc kept), and quits.
    caf::reacts_to<search_atom, search_request, reply<search_result>>>;

}  // namespace serialake

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::tensor_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::sample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::commit_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::callbacks)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::ack>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<bool>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<uint64_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::commit_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<std::vector<serialake::commit_info>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::snapshot_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<std::vector<serialake::tensor_spec>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::search_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::search_result>)
