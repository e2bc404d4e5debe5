#pragma once
// Options of the engine, of an open dataset and of its store. Defaults in comments.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "serialake/lock.hpp"

namespace serialake {

/// Tuning of the write path.
struct store_options {
  /// A chunk is sealed and a new one started once it holds this many bytes.
  uint64_t chunk_bytes = 8ull << 20;
  /// Small samples are gathered in a buffer of this size per tensor before write().
  size_t write_buffer_bytes = 1u << 20;
  /// Readers keep at most this many chunk files open (an LRU cache shared by the
  /// store and its snapshots; see core/chunk_files.hpp). At least 1; the
  /// default stays far below the usual limit of 1024 open files.
  size_t open_files = 512;
  /// Writers: how long to wait for commits.log's flock (held only for the
  /// moment of a commit) before failing with errc::locked. Only a broken
  /// writer hung in the middle of a commit holds it longer.
  std::chrono::milliseconds log_wait{30000};
};

/// When appends become durable.
enum class durability {
  buffered,  ///< an append completes once applied; commits every N bytes / T ms, on flush and close
  durable,   ///< an append completes after the commit holding it is on disk (group commit)
};

/// The dataset actor's commit policy.
struct write_policy {
  durability mode = durability::buffered;
  uint64_t commit_bytes = 64ull << 20;                 ///< buffered: commit at this many pending bytes
  std::chrono::milliseconds commit_interval{1000};     ///< buffered: commit this long after an append
  uint64_t drain_bytes = 1 << 20;                      ///< buffered: apply appends in batches this large (at most queue_bytes / 4)...
  std::chrono::milliseconds drain_delay{2};            ///< ...or once the first has waited this long
  /// durable: after a commit, wait this long for more appends before sleeping
  std::chrono::microseconds linger{50};
};

/// How engine::open reaches the server of a serialake://host:port/NAME dataset
/// (see serialake/remote.hpp; the program must have called enable_remote()).
struct remote_access {
  /// Bearer token sent with every call ("": the SERIALAKE_TOKEN environment
  /// variable, if set; else none).
  std::string token;
  /// PEM file of the server's CA: connect with TLS ("": plaintext).
  std::string tls_ca;
  /// Bound on each call other than appends (create_tensor, flush, commit, log,
  /// tensors): past it the call fails with errc::timeout (30 s).
  std::chrono::milliseconds deadline{30000};
};

/// How to open a dataset. Defaults in comments.
struct dataset_options {
  /// Create the dataset if it does not exist (false).
  bool create = false;
  /// Never take the lock, never write; see the last commit, refresh() for newer (false).
  bool read_only = false;
  /// Open this older version, read-only (latest).
  std::optional<uint64_t> version;
  /// Writers: how long to wait for the dataset lock held by another process
  /// before failing with errc::locked (0: fail at once, as Deep Lake does).
  std::chrono::milliseconds lock_timeout{0};
  /// Writers: heartbeat period of the lock (1 s) and how old a heartbeat of a
  /// holder on another host may get before its lock is taken over (10 s).
  std::chrono::milliseconds lock_heartbeat{1000};
  std::chrono::milliseconds lock_validity{10000};
  /// Writers: called once if the open starts waiting for another holder's lock
  /// (lock_timeout > 0), with that holder: e.g. to tell a user why it waits.
  std::function<void(const lock_holder&)> on_lock_wait;
  /// How the dataset is locked against other processes (the lock file).
  std::shared_ptr<lock_backend> locking;
  /// When appends become durable and when buffered ones are committed
  /// (buffered; every 64 MiB or 1000 ms after an append).
  write_policy policy;
  /// Bound on the memory of appends queued for the dataset actor (16 MiB: larger
  /// bounds measured slower, the queue then no longer stays in cache).
  uint64_t queue_bytes = 16ull << 20;
  /// How long an append may wait for room in the queue before failing with
  /// errc::timeout (wait as long as it takes).
  std::optional<std::chrono::milliseconds> queue_timeout;
  /// Chunk size and write buffer of the store.
  store_options tuning;
  /// serialake:// datasets: how to reach the server. Of the options above, a
  /// remote dataset uses create, read_only, policy.mode (durable: an append
  /// completes once the server has it on disk), queue_bytes (bounds the bytes
  /// queued or sent but not yet acknowledged) and queue_timeout.
  remote_access remote;
};

/// Engine settings.
struct engine_options {
  /// Worker threads of the actor system's scheduler (0: one per core, at least 2).
  /// Dataset actors run on their own threads regardless: they do blocking I/O.
  size_t threads = 0;
};

}  // namespace serialake
