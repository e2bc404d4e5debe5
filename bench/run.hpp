#pragma once
#include "bench/workload.hpp"

namespace serialake::bench {

/// Runs the workload once in this process; throws std::runtime_error when
/// --verify finds a missing, repeated or wrong sample.
result run(const config& c);

/// Sweeps the matrix by running this program once per cell and store
/// (interleaved, `reps` times), then prints medians as Markdown and writes a CSV.
int run_matrix(const std::string& self, const matrix_options& m);

/// The lock figures (bench/lock_latency.cpp): hand-over after a release and
/// after a SIGKILL (`reps` of each), 8 processes x 1,000 rows, for the file lock
/// and, if `lock_uri` is given, that lock service, whose acquire+release is also
/// timed against its bare round trips (10 x `reps`). Prints RESULT lines.
int run_lock_latency(int reps, const std::string& dir, const std::string& lock_uri);

/// Appends through `serialake serve` (this build's binary beside `self`)
/// against the local handle and Redis RPUSH, buffered and durable, 100 B and
/// 4 KiB, T=1 and T=16, from this process and from 4 (`self --remote-worker`);
/// prints Markdown tables of samples/s, their ratios and durable latencies.
int run_remote_bench(const std::string& self, const std::string& dir);

/// One client process of run_remote_bench: appends `total` payloads of `size`
/// bytes to the dataset at `uri` from `threads` threads, flushes, and prints
/// "START_NS END_NS COUNT" (wall clock).
int run_remote_worker(const std::string& uri, bool durable, size_t size, int threads, uint64_t total);

}  // namespace serialake::bench
