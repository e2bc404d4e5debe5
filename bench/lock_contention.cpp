// 8 processes x 1,000 rows through one lock (bench/lock_bench.hpp): each process
// opens the dataset (waiting for the lock), appends 100 rows, flushes, closes,
// ten times; 80 lock hand-overs in all. The figure is the wall time from the
// first fork to the last exit, against the file lock in the same run.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "bench/lock_bench.hpp"
#include "core/store.hpp"

namespace serialake::bench {
namespace {

constexpr int processes = 8, rows_per_process = 1000, rows_per_hold = 100;

[[noreturn]] void writer(const std::string& dir, const std::string& uri, int id) {
  try {
    for (int hold = 0; hold < rows_per_process / rows_per_hold; ++hold) {
      engine eng;
      auto ds = eng.open(dir, lock_options(uri, std::chrono::milliseconds(60000)));
      for (int i = 0; i < rows_per_hold; ++i) {
        row r;
        r.emplace_back("w", sample::scalar<int64_t>(dtype::int64, id * 1000000 + hold * rows_per_hold + i));
        ds.append_row(std::move(r));
      }
      ds.flush();
      ds.close();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serialake-bench: writer %d: %s\n", id, e.what());
    std::_Exit(1);
  }
  std::_Exit(0);
}

// Rows of `w` in the dataset, read-only.
uint64_t rows(const std::string& dir) {
  open_options ro;
  ro.read_only = true;
  return store::open(dir, ro)->snapshot()->length("w");
}

}  // namespace

int contention(const std::string& dir, const std::string& uri) {
  {
    engine eng;
    auto ds = eng.open(dir, lock_options(uri, std::chrono::milliseconds(10000)));
    bool has_w = false;
    for (auto& t : ds.tensors()) has_w = has_w || t.name == "w";
    if (!has_w) ds.create_tensor({"w", dtype::int64, "generic", {}});
    ds.close();
  }
  const uint64_t before = rows(dir);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pids[processes];
  for (int p = 0; p < processes; ++p)
    if ((pids[p] = ::fork()) == 0) writer(dir, uri, p);
  int failed = 0;
  for (pid_t pid : pids) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t added = rows(dir) - before;
  std::printf("RESULT lock_contention lock=%s processes=%d rows=%llu seconds=%.2f rows_per_s=%.0f failed=%d\n",
              uri.empty() ? "file" : uri.c_str(), processes, static_cast<unsigned long long>(added), s,
              static_cast<double>(added) / s, failed);
  return failed || added != uint64_t(processes) * rows_per_process ? 1 : 0;
}

}  // namespace serialake::bench
