#pragma once
// The file lock: the default lock backend (see core/lock.hpp for the semantics).
//
// Protocol. The lock is the file `<dataset>/lock`, which is never renamed or
// deleted (an OS lock lives on the inode). Its content is one JSON object:
//   {"state": "held"|"free", "kind": "writer"|"maintenance", "host": h, "pid": p,
//    "since_ms": t, "heartbeat_ms": t, "generation": g, "token": random,
//    "flock": true|false}   (false: a holder that took over a broken one, below)
// written in place (pwrite, ftruncate, fdatasync) by whoever holds the OS lock
// (flock LOCK_EX) on the file, or by a writer taking over a broken holder (below).
// A forced unlock of a live holder writes `<dataset>/lock.break`:
//   "<generation> <time_ms>"   breaks the grant of that generation; generation 0
//                              (the content was unreadable) breaks every grant
//                              made before time_ms
//
// A writer keeps the flock from acquire to release, so a holder that dies on this
// host is detected at once: the kernel drops its flock. With the flock in hand,
// the content decides:
//   empty, or state free                      -> free (generation kept)
//   maintenance                               -> held until unlock
//   writer on this host with "flock": true    -> taken over (it is gone: we hold its flock)
//   writer on this host with "flock": false   -> held while its process lives (not a
//                                                zombie) and its heartbeat is fresh
//   writer on another host, fresh heartbeat   -> held
//   writer on another host, stale heartbeat   -> taken over (validity elapsed)
//   unparseable (torn write)                  -> held until the file's mtime is
//                                                older than the validity
// Without the flock, a live process on this host holds the lock, whatever the
// content says (an empty or garbled file is never read as free), with one
// exception: if lock.break names the content's generation, the holder was broken
// and the lock is taken over at once, without waiting for its flock. That is
// safe because commits are fenced at the log (core/format.hpp: a record is
// appended only under the log's flock, by a writer whose check() passes and
// whose log end is unchanged): a broken holder, even one stopped between its
// check and its write, can never append after the new holder's records. The new
// holder keeps lock.break until the flock is its own (its heartbeat takes it
// once the broken holder lets go), then removes it. A grant it releases while
// the broken holder still has the flock ("state": "free", "flock": false) is
// free to writers that cannot get the flock.
//
// A grant's generation is one more than the larger of the file's and lock.break's;
// commits record it. check() fails with lock_lost once lock.break breaks our grant
// or the content is no longer our grant (token and generation).
//
// On shared file systems: the heartbeat and the content work wherever files are
// shared; flock is only as good as the file system's (NFSv4 implements it as a
// POSIX lock across hosts; some FUSE and SMB mounts fake it per host). Where
// flock is not coherent across hosts, a holder on another host is judged by its
// heartbeat alone, and the fenced commit relies on the log's flock: on such a
// file system, use a lock service (ZooKeeper, Redis, etcd) instead.

#include <memory>
#include <string>

#include "serialake/lock.hpp"

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
