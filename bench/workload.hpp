#pragma once
// The workload of ../shared/WORKLOAD.md: its parameters, producer pools, and the
// figures a run reports.

#include <cstdint>
#include <string>
#include <vector>

namespace serialake::bench {

/// One run's parameters (the command line).
struct config {
  std::string store = "serialake";
  bool durable = false;
  int threads = 1;
  size_t size = 4096;
  uint64_t total = 0;      ///< samples; 0: the workload's volume for `size`
  double deadline = 3.0;   ///< durable runs: seconds per producer
  std::string dir;         ///< where files go (a fresh temp dir under it)
  bool verify = false;
  uint64_t queue_mb = 16;  ///< serialake: queue bound
};

/// A sweep: every mode x size x threads cell, every store, `reps` times.
struct matrix_options {
  std::vector<std::string> stores{"serialake", "core", "ideal", "naive",
                                  "leveldb", "rocksdb", "lmdb", "sqlite"};
  std::vector<std::string> modes{"buffered", "durable"};
  std::vector<size_t> sizes{100, 4096, 65536};
  std::vector<int> threads{1, 4, 16};
  int reps = 3;
  double deadline = 3.0;
  std::string dir;
  std::string csv = "bench-results.csv";
};

/// Samples for `size`: 1 Mi for 100 B, else 256 MiB worth.
uint64_t default_total(size_t size);

/// A producer's 1 MiB of pseudo-random bytes; sample i is a slice at a moving offset.
class pool {
 public:
  explicit pool(int producer);
  const char* sample(uint64_t i, size_t size) const;

 private:
  std::vector<char> bytes_;
};

/// What a run measured.
struct result {
  uint64_t n = 0;
  double wall_s = 0;
  double p50_us = 0, p99_us = 0;
  double cpu_s = 0;
  uint64_t batches = 0;
  double rss_mb = 0;
};

/// The RESULT line of the output contract.
std::string result_line(const config& c, const result& r);

}  // namespace serialake::bench
