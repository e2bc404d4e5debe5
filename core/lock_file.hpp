#pragma once
// The file lock: the default lock backend (see core/lock.hpp for the semantics).
//
// Protocol. The lock is the file `<dataset>/lock`, which is never renamed or
// deleted (an OS lock lives on the inode). Its content is one JSON object:
//   {"state": "held"|"free", "kind": "writer"|"maintenance", "host": h, "pid": p,
//    "since_ms": t, "heartbeat_ms": t, "generation": g, "token": random}
// written in place (pwrite, ftruncate, fdatasync) and only by whoever holds the
// OS lock (flock LOCK_EX) on the file, with one exception: a forced unlock of a
// live writer creates `<dataset>/lock.break` holding the broken generation.
//
// A writer keeps the flock from acquire to release, so a holder that dies on this
// host is detected at once: the kernel drops its flock. With the flock in hand,
// the content decides:
//   empty, or state free                      -> free (generation kept)
//   maintenance                               -> held until unlock
//   writer on this host                       -> its process is gone: taken over
//   writer on another host, fresh heartbeat   -> held
//   writer on another host, stale heartbeat   -> taken over (validity elapsed)
//   unparseable (torn write)                  -> held until the file's mtime is
//                                                older than the validity
// Without the flock, a live process on this host holds the lock, whatever the
// content says: an empty or garbled file is never read as free.
//
// A grant's generation is one more than the file's; commits record it. check()
// fails with lock_lost once lock.break names our generation or the content is no
// longer our grant (token and generation). A lost holder keeps its flock until
// its owner calls release(), so a new writer cannot start recovery while the old
// one might still be between its last check and its commit record.

#include <memory>
#include <string>

#include "core/lock.hpp"

namespace serialake {

/// The file lock backend (thread-safe, stateless).
class file_lock_backend_impl : public lock_backend {
 public:
  std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) override;
  lock_holder lock(const std::string& path, const lock_settings& s) override;
  std::string unlock(const std::string& path, bool force, const lock_settings& s) override;
  std::optional<lock_holder> holder(const std::string& path, const lock_settings& s) override;
};

/// This machine's host name, as written into lock files.
std::string this_host();

}  // namespace serialake
