#pragma once
// Every typed actor interface of serialake, with what each handler does.
//
// Replies to plain threads (the public handle) travel in a promise carried by the
// message: a scoped_actor request/receive round trip costs tens of microseconds on
// this kind of machine, a promise about two (see CAF-NOTES).

#include <caf/all.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "serialake/snapshot.hpp"
#include "core/store.hpp"

namespace serialake {

/// Where a handler puts its answer for a waiting thread.
template <class T>
using reply = std::shared_ptr<std::promise<T>>;

using snapshot_ptr = std::shared_ptr<const snapshot>;

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
    caf::reacts_to<create_atom, tensor_spec, reply<void>>,
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
    /// The file-lock actor found the lock lost: refuse every later write with
    /// lock_lost and give the OS lock up.
    caf::reacts_to<lost_atom, std::string>,
    /// Commits what is pending, releases the lock, fails later calls, and quits.
    caf::reacts_to<close_atom, reply<void>>>;

/// Owns a writer's dataset lock for its dataset actor (which spawns it): keeps
/// the heartbeat fresh so other hosts see the holder alive. Detached: it syncs.
using lock_actor = caf::typed_actor<
    /// Refreshes the heartbeat; if the lock was lost, tells the dataset actor
    /// (lost_atom) and stops refreshing.
    caf::reacts_to<tick_atom>,
    /// Stops and quits (the dataset actor releases the lock after its last commit).
    caf::reacts_to<close_atom>>;

/// Serves reads from one immutable snapshot; never touches the writer.
using reader_actor = caf::typed_actor<
    /// Sample `index` of tensor `name`.
    caf::replies_to<read_atom, std::string, uint64_t>::with<sample>,
    /// Committed length of tensor `name`.
    caf::replies_to<length_atom, std::string>::with<uint64_t>>;

}  // namespace serialake

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::tensor_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::sample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<bool>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::commit_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<std::vector<serialake::commit_info>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<serialake::snapshot_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(serialake::reply<std::vector<serialake::tensor_spec>>)
