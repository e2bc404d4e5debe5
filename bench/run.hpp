#pragma once
#include "bench/workload.hpp"

namespace serialake::bench {

/// Runs the workload once in this process; throws std::runtime_error when
/// --verify finds a missing, repeated or wrong sample.
result run(const config& c);

/// Sweeps the matrix by running this program once per cell and store
/// (interleaved, `reps` times), then prints medians as Markdown and writes a CSV.
int run_matrix(const std::string& self, const matrix_options& m);

/// Measures how fast a waiting writer gets the lock after another process
/// releases it or is SIGKILLed (`reps` of each); prints one RESULT line.
int run_lock_latency(int reps, const std::string& dir);

/// Appends through `serialake serve` (this build's binary beside `self`)
/// against the local handle, buffered and durable, 100 B and 4 KiB, T=1 and
/// T=16; prints a Markdown table of samples/s and their ratio.
int run_remote_bench(const std::string& self, const std::string& dir);

}  // namespace serialake::bench
