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

#include "serialake/error.hpp"
#include "serialake/future.hpp"
#include "serialake/options.hpp"
#include "serialake/types.hpp"
#include "serialake/snapshot.hpp"

namespace serialake {

namespace detail {
struct append_op;
class ingest_queue;
struct dataset_shared;
struct dataset_access;
struct engine_access;
}  // namespace detail

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
  /// Runs `fn(ready future)` once the append completed, with no thread blocked
  /// for it: on the dataset's callback actor (continuations of appends that
  /// complete after their then() run there one at a time, in completion order),
  /// or at once on this thread if it completed already. Consumes this future. `fn`
  /// calls get() for the index or the error, and should be short: the dataset's
  /// continuations run one at a time. What it throws is handled as future::then says.
  void then(std::function<void(append_future)> fn) &&;

 private:
  friend class dataset;
  append_future(detail::append_op* op, std::shared_ptr<detail::ingest_queue> q)
    : op_(op), q_(std::move(q)) {}
  detail::append_op* op_ = nullptr;
  std::shared_ptr<detail::ingest_queue> q_;
};

/// A subscription to a dataset's commits; move-only; unsubscribes when destroyed.
class subscription {
 public:
  subscription() = default;
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& o) noexcept;
  ~subscription();
  /// Stops the calls now (see dataset::subscribe). Idempotent.
  void cancel();

 private:
  friend class dataset;
  struct impl;
  explicit subscription(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
  std::shared_ptr<impl> impl_;
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
  /// flush() and commit() without blocking: the future completes once durable.
  future<commit_info> flush_async();
  future<commit_info> commit_async(const std::string& message);
  /// Named commits (all commits if `all`), oldest first.
  std::vector<commit_info> log(bool all = false);
  /// The last commit as an immutable snapshot, readable from any thread (and
  /// from a child forked after it was taken). Local datasets only.
  std::shared_ptr<const serialake::snapshot> snapshot();
  /// snapshot() without blocking.
  future<std::shared_ptr<const serialake::snapshot>> snapshot_async();
  /// Calls `fn` for each commit this handle's writer makes from now on, on the
  /// dataset's notifier, one call at a time, never on the writer's thread: a
  /// slow subscriber never slows the writer. One that falls behind gets the
  /// commits it missed merged into one event (first_version < version, each
  /// tensor's range covering them all), so it always learns every new sample.
  /// Destroying the returned subscription stops the calls (waiting for one in
  /// progress, unless called from inside `fn`).
  subscription subscribe(std::function<void(const commit_event&)> fn);
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
  friend struct detail::dataset_access;  // serialake's own layers: actors/dataset_shared.hpp
  append_future push(detail::append_op* op);
  std::shared_ptr<detail::dataset_shared> s_;
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
  ///
  /// `path` may be a URI serialake://host:port/NAME of a dataset that
  /// `serialake serve` serves, once the program called enable_remote()
  /// (serialake/remote.hpp, library serialake_remote; without it the open
  /// fails with invalid_argument). The handle then appends, flushes, commits
  /// and lists log() and tensors() through the server (opts.remote says how to
  /// reach it; flush_async() and commit_async() complete before they return);
  /// snapshot(), snapshot_async(), refresh() and subscribe() throw
  /// invalid_argument naming the call. Appends that travel in one batch are
  /// applied all or none (service/serialake.proto): an append the server
  /// refuses (e.g. schema_mismatch) fails, with its error, the appends sent
  /// in the same batch, which a local dataset would have applied. Errors of the open: not_found (no such
  /// dataset; opts.create creates it), unauthenticated (token refused),
  /// unavailable (no server), invalid_argument (a malformed URI, a name
  /// leaving the server's root, opts.version).
  dataset open(const std::string& path, const dataset_options& opts = {});

 private:
  friend struct detail::engine_access;  // serialake's own layers: actors/dataset_shared.hpp
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
