#pragma once
// The dataset lock: the interface every lock backend implements (the file lock
// in core/lock_file.hpp is the default; Redis, ZooKeeper or etcd can follow
// behind the same interface without touching the dataset actor).
//
// Semantics (Deep Lake's, without its faults):
//  - a writer holds the lock from open to close; read-only opens never touch it;
//  - a held lock makes other writers fail with errc::locked naming the holder,
//    or wait up to a timeout;
//  - every grant carries a generation larger than any before it (a fencing
//    token): commits record it, and a holder whose lock was broken or taken over
//    gets errc::lock_lost from check() and must commit nothing more;
//  - a maintenance lock (lock()) is held until unlock(), even after the process
//    that took it has exited.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace serialake {

/// Who holds (or last held) a dataset's lock.
struct lock_holder {
  std::string kind;          ///< "writer", "maintenance" or "unknown"
  std::string host;          ///< for "unknown": what is known instead
  int pid = 0;
  int64_t since_ms = 0;      ///< when it was granted (ms since the epoch)
  int64_t heartbeat_ms = 0;  ///< last refresh
  uint64_t generation = 0;
  bool alive = false;        ///< known alive (same host: holds the OS lock)
  /// "writer pid 123 on host h since 2026-11-25T04:13:50Z (generation 7)".
  std::string describe() const;
};

/// Timing of a lock.
struct lock_settings {
  /// How long acquire() waits for a held lock (0: fail at once).
  std::chrono::milliseconds timeout{0};
  /// How often a holder refreshes its heartbeat.
  std::chrono::milliseconds heartbeat{1000};
  /// A holder on another host whose heartbeat is older than this is presumed dead.
  std::chrono::milliseconds validity{10000};
  /// Called once, on the waiting thread, when acquire() or lock() starts waiting
  /// (timeout > 0) for a lock another holder has: a program can say it waits.
  std::function<void(const lock_holder&)> on_wait;
};

/// A granted writer lock. Thread-safe.
class dataset_lock {
 public:
  virtual ~dataset_lock() = default;
  /// This grant's fencing generation.
  virtual uint64_t generation() const = 0;
  /// Throws errc::lock_lost if the lock was broken or taken over.
  virtual void check() = 0;
  /// Refreshes the heartbeat; throws errc::lock_lost like check().
  virtual void heartbeat() = 0;
  /// Raises the generation above `gen` (when the dataset's commits carry a
  /// higher one than the lock remembers, e.g. after the lock file was lost).
  virtual void raise_generation(uint64_t gen) = 0;
  /// Gives the lock up. Idempotent; the destructor does it too.
  virtual void release() = 0;
};

/// A way of locking datasets.
class lock_backend {
 public:
  virtual ~lock_backend() = default;
  /// Takes the writer lock of the dataset at `path`, waiting per `s.timeout`;
  /// throws errc::locked naming the holder.
  virtual std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) = 0;
  /// Takes a maintenance lock that outlives this process; returns it.
  virtual lock_holder lock(const std::string& path, const lock_settings& s) = 0;
  /// Releases a maintenance lock or a dead holder's lock; a live writer's lock
  /// only with `force` (it then gets lock_lost on its next commit). Returns a
  /// sentence saying what was released or broken.
  virtual std::string unlock(const std::string& path, bool force, const lock_settings& s) = 0;
  /// The current holder, if the lock is held.
  virtual std::optional<lock_holder> holder(const std::string& path, const lock_settings& s) = 0;
};

/// The default backend: a lock file in the dataset directory (core/lock_file.hpp).
std::shared_ptr<lock_backend> file_lock_backend();

}  // namespace serialake
