#pragma once
// serialake-bench --read: bulk and point reads of one dataset against the
// physical limit (pread of the chunk files) and against LMDB and RocksDB point
// reads of the same records.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace serialake::bench {

/// The --read run's parameters.
struct read_options {
  uint64_t mib = 1024;                  ///< dataset size per sample size
  std::vector<size_t> sizes{4096, 100};  ///< sample sizes, one dataset each
  int reps = 3;                         ///< timed repetitions per figure (median)
  std::string dir;                      ///< where the datasets go (a temp dir under it)
  bool cold = true;                     ///< also measure after dropping the page cache
};

/// Runs every measurement for each sample size and prints Markdown tables.
int run_read_bench(const read_options& o);

/// The bytes of sample `i` of `size` bytes (the same in every store).
void fill_sample(uint64_t i, char* out, size_t size);

/// Wall seconds of `threads` threads each running fn(thread index).
double timed_threads(int threads, const std::function<void(int)>& fn);

// --- the physical limit: the chunk files read directly (read_baselines.cpp) ---

/// Reads `files` (split between `threads`) in 1 MiB preads; if `sample` is
/// nonzero also hashes every `sample` bytes with XXH3, as a checked read must.
/// Returns seconds.
double pread_files(const std::vector<std::string>& files, int threads, size_t sample);
/// As pread_files with hashing, but through mmap: the copy pread makes is saved.
double mmap_files(const std::vector<std::string>& files, int threads, size_t sample);
/// True if this process may drop the page cache; then drops it (after sync).
bool drop_caches();

// --- the peers (read_peers.cpp) ---

/// One thread's point reader of a peer store.
class point_reader {
 public:
  virtual ~point_reader() = default;
  /// Copies the value of record `i` into `buf`; returns its size.
  virtual size_t get(uint64_t i, char* buf, size_t capacity) = 0;
};

/// A key-value store loaded with records 0..n-1: key = 8-byte big-endian
/// index, value = fill_sample(i).
class point_store {
 public:
  virtual ~point_store() = default;
  /// A reader for the calling thread.
  virtual std::unique_ptr<point_reader> reader() = 0;
};

/// LMDB in `dir`, loaded with `n` records of `size` bytes.
std::unique_ptr<point_store> load_lmdb(const std::string& dir, uint64_t n, size_t size);
/// RocksDB in `dir`, loaded with `n` records of `size` bytes (as SST files, ingested).
std::unique_ptr<point_store> load_rocksdb(const std::string& dir, uint64_t n, size_t size);

}  // namespace serialake::bench
