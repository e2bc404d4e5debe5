#pragma once
// The public, thread-safe API: an engine owns the actor system; a dataset handle
// writes and reads one open dataset from any thread.
//
//   serialake::engine eng;
//   serialake::dataset_options opts;
//   opts.create = true;
//   auto ds = eng.open("photos.serialake", opts);
//   ds.create_tensor({"label", serialake::dtype::int64, "class_label", {}});
//   auto f = ds.append("label", serialake::sample::scalar<int64_t>(serialake::dtype::int64, 3));
//   f.get();        // the sample's index, once applied (buffered) or durable (durable)
//   ds.flush();     // everything appended so far is committed and on disk
//
// Threading: every method of dataset may be called from any thread at once. Writes
// are linearized by the dataset's actor: each append gets the next index in the
// order the actor applies it, and an append made after another's future completed
// gets a higher index. Appends never take a lock; they enqueue (blocking only
// when the queue bound is reached).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/writer.hpp"
#include "serialake/error.hpp"
#include "serialake/lock.hpp"
#include "serialake/snapshot.hpp"
#include "core/store.hpp"
#include "serialake/types.hpp"

namespace caf {
class actor_system;
}

namespace serialake {

namespace detail {
struct append_op;
class ingest_queue;
struct dataset_shared;
}  // namespace detail

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
};

/// The result of one append: the sample's (or row's, or batch's first) index.
/// Move-only. Destroying it without get() is fine: the append still happens.
class append_future {
 public:
  append_future() = default;
  append_future(append_future&& o) noexcept : op_(o.op_), q_(std::move(o.q_)) { o.op_ = nullptr; }
  append_future& operator=(append_future&& o) noexcept;
  ~append_future();

  /// Blocks until the append completed; returns its index or throws its error.
  uint64_t get();
  /// True once get() would not block.
  bool ready() const noexcept;
  /// Waits up to `d`; true if ready.
  bool wait_for(std::chrono::nanoseconds d) const;
  bool valid() const noexcept { return op_ != nullptr; }

 private:
  friend class dataset;
  append_future(detail::append_op* op, std::shared_ptr<detail::ingest_queue> q)
    : op_(op), q_(std::move(q)) {}
  detail::append_op* op_ = nullptr;
  std::shared_ptr<detail::ingest_queue> q_;
};

/// A copyable handle to one open dataset. All copies share the dataset actor.
class dataset {
 public:
  dataset() = default;

  /// The dataset's canonical path.
  const std::string& path() const;
  bool read_only() const;

  /// Adds a tensor (durable when it returns).
  void create_tensor(const tensor_spec& spec);
  /// Queues one sample for `tensor`.
  append_future append(std::string tensor, sample s);
  /// Queues one sample for `tensor`, copying the caller's bytes. The fastest
  /// way in: the copy goes into a buffer this thread reuses, so a steady stream
  /// of appends allocates nothing.
  append_future append(std::string_view tensor, const sample_view& s);
  /// Queues one row: a sample per tensor, applied and committed together.
  append_future append_row(row r);
  /// Queues several rows as one operation: all are checked before any is
  /// written (an error names the row), and all land in the same commit. The
  /// future holds the first row's index.
  append_future append_rows(std::vector<row> rows);
  /// Queues samples for one tensor as one operation (all or nothing); the future
  /// holds the first sample's index, the rest follow contiguously.
  append_future append_batch(std::string tensor, std::vector<sample> samples);
  /// Commits everything appended before the call; durable when it returns.
  commit_info flush();
  /// Like flush, as a named version kept in the log.
  commit_info commit(const std::string& message);
  /// Named commits (all commits if `all`), oldest first.
  std::vector<commit_info> log(bool all = false);
  /// The last commit as an immutable snapshot, readable from any thread.
  std::shared_ptr<const serialake::snapshot> snapshot();
  /// Read-only handles: picks up commits made by another writer; true if newer.
  bool refresh();
  /// The tensors' specs.
  std::vector<tensor_spec> tensors();
  /// Commits what is pending, releases the dataset (and its lock), and makes
  /// every later call on any copy fail with errc::closed. Idempotent. Dropping
  /// the last handle closes too.
  void close();

  /// Bytes queued for the actor now, and the most ever (backpressure figures).
  uint64_t queued_bytes() const;
  uint64_t peak_queued_bytes() const;

  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  friend class engine;
  append_future push(detail::append_op* op);
  std::shared_ptr<detail::dataset_shared> s_;
};

/// Engine settings.
struct engine_options {
  /// Worker threads of the actor system's scheduler (0: one per core, at least 2).
  /// Dataset actors run on their own threads regardless: they do blocking I/O.
  size_t threads = 0;
};

/// Owns an actor system and the registry of open datasets. Several engines may
/// live in one program. Destroying an engine closes every dataset it opened.
class engine {
 public:
  explicit engine(engine_options opts = {});
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Opens (or with opts.create, creates) the dataset at `path`. Opening a path
  /// this engine already has open returns a handle to the same dataset actor;
  /// the options must then match the first open's (durability and the rest of
  /// `policy`, the queue bound and timeout, `tuning`, the lock's backend,
  /// heartbeat and validity), else invalid_argument names the first that
  /// differs. Read-only opens of the latest version and of each pinned version
  /// (0 included) are separate datasets.
  /// Thread-safe. Opens of one path wait for each other (e.g. while one waits
  /// up to lock_timeout for another process's lock); opens of other paths do not.
  dataset open(const std::string& path, const dataset_options& opts = {});

  /// The actor system, for embedders that spawn their own actors (e.g. readers).
  caf::actor_system& system();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
