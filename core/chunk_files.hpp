#pragma once
// The read side's open files: chunk files (and commits.log, for samples inlined
// in it) opened on demand and kept in a bounded LRU cache, as LevelDB's table
// cache keeps its tables. A dataset of 1 TB in 8 MiB chunks has 125k chunk files,
// far more than a process may keep open.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/file_io.hpp"

namespace serialake {

/// Read-only chunk file handles shared by a store and its snapshots.
///
/// Thread-safe. At most `capacity` files are kept open by the cache; handles are
/// shared_ptrs, so a file evicted while a reader still holds it stays open until
/// that reader is done (the count of open files can pass the capacity by the
/// number of reads in progress, never more). The mutex guards only the map and
/// the recency list: open(2) and every pread run without it, so readers of
/// different (or the same) files proceed in parallel.
class chunk_files {
 public:
  /// `capacity` >= 1: how many files to keep open at most (store_options::open_files).
  chunk_files(std::string dir, size_t capacity);
  ~chunk_files();
  chunk_files(const chunk_files&) = delete;
  chunk_files& operator=(const chunk_files&) = delete;
  /// The open file of chunk `name` of `tensor` ("" names commits.log); throws
  /// not_found or io. Keep the handle only while reading.
  std::shared_ptr<io::file> get(const std::string& tensor, const std::string& name);
  /// Path of a chunk, for messages.
  std::string path(const std::string& tensor, const std::string& name) const;
  /// Files the cache holds open now (for tests).
  size_t cached() const;

 private:
  struct slot {
    std::shared_ptr<io::file> file;
    std::list<std::string>::iterator recent;  // its place in recent_
  };
  const std::string dir_;
  const size_t capacity_;
  mutable std::mutex mtx_;
  std::list<std::string> recent_;  // keys, most recently used first; guarded by mtx_
  std::unordered_map<std::string, slot> open_;  // guarded by mtx_
};

}  // namespace serialake
