// serialake-bench: the write-throughput workload of WORKLOAD.md.
//
//   serialake-bench --store serialake --mode buffered --threads 16 --size 4096 [--verify]
//   serialake-bench --matrix [--reps 3] [--csv results.csv]
//   serialake-bench --read [--read-mib 1024] [--read-sizes 4096,100] [--reps 3] [--no-cold]
//   serialake-bench --remote

#include <CLI/CLI.hpp>

#include <climits>
#include <cstdio>
#include <exception>
#include <unistd.h>

#include "bench/read_bench.hpp"
#include "bench/run.hpp"
#include "bench/stores.hpp"

using namespace serialake::bench;

namespace {

std::string self_path(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return argv0;
  buf[n] = '\0';
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"serialake-bench: write throughput of serialake and its baselines"};
  config c;
  std::string mode = "buffered";
  bool matrix = false;
  int lock_reps = 0;
  matrix_options m;
  bool read = false;
  bool remote = false;
  read_options ro;
  app.add_option("--store", c.store, store_names)->capture_default_str();
  app.add_option("--mode", mode, "buffered | durable")->capture_default_str()
      ->check(CLI::IsMember({"buffered", "durable"}));
  app.add_option("--threads", c.threads, "producer threads (T)")->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--size", c.size, "sample bytes (S)")->capture_default_str()
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--total", c.total, "samples in all (default: 1 Mi for S<=100, else 256 MiB worth)");
  app.add_option("--deadline", c.deadline, "durable runs: seconds per producer")->capture_default_str();
  app.add_option("--dir", c.dir, "directory for the run's files (default: the temp dir)");
  app.add_flag("--verify", c.verify, "reopen and check every acknowledged sample");
  app.add_option("--queue-mb", c.queue_mb, "serialake: queue bound in MiB")->capture_default_str();
  app.add_flag("--matrix", matrix, "sweep T, S, modes and stores; print a median table");
  app.add_option("--lock-latency", lock_reps,
                 "measure lock hand-over after release and after SIGKILL, this many times each");
  std::string lock_uri;
  app.add_option("--lock", lock_uri,
                 "with --lock-latency: also measure this lock service (redis://host:port[/key], zk://...)");
  app.add_option("--reps", m.reps, "matrix, read: repetitions per cell or figure")->capture_default_str();
  app.add_option("--stores", m.stores, "matrix: stores")->delimiter(',');
  app.add_option("--modes", m.modes, "matrix: modes")->delimiter(',');
  app.add_option("--sizes", m.sizes, "matrix: sample sizes")->delimiter(',');
  app.add_option("--thread-counts", m.threads, "matrix: producer counts")->delimiter(',');
  app.add_flag("--remote", remote, "appends through serialake serve against the local handle");
  std::string remote_worker;
  app.add_option("--remote-worker", remote_worker, "one client process of --remote (internal)")->group("");
  app.add_flag("--read", read, "measure bulk and point reads against pread, LMDB and RocksDB");
  app.add_option("--read-mib", ro.mib, "read: MiB per dataset")->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--read-sizes", ro.sizes, "read: sample sizes, one dataset each")->delimiter(',');
  app.add_flag("--no-cold", [&](int64_t) { ro.cold = false; }, "read: skip the cold-cache figures");
  app.add_option("--csv", m.csv, "matrix: where the raw runs go")->capture_default_str();
  app.footer("Example: serialake-bench --store serialake --mode durable --threads 16 --size 4096");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }
  c.durable = mode == "durable";
  try {
    if (lock_reps > 0) return run_lock_latency(lock_reps, c.dir, lock_uri);
    if (remote) return run_remote_bench(self_path(argv[0]), c.dir);
    if (!remote_worker.empty())
      return run_remote_worker(remote_worker, c.durable, c.size, c.threads, c.total);
    if (read) {
      ro.reps = m.reps;
      ro.dir = c.dir;
      return run_read_bench(ro);
    }
    if (matrix) {
      m.deadline = c.deadline;
      m.dir = c.dir;
      return run_matrix(self_path(argv[0]), m);
    }
    result r = run(c);
    std::printf("%s\n", result_line(c, r).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serialake-bench: %s\n", e.what());
    return 1;
  }
}
