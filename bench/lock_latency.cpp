// How long a waiting writer takes to get the dataset lock after the holder
// (another process) releases it, and after the holder is SIGKILLed.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "serialake/dataset.hpp"
#include "bench/run.hpp"

namespace serialake::bench {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Child: takes the lock, says "ready", waits for a byte, then (release) writes
// the time it starts to close and closes, or (kill) just waits to be killed.
[[noreturn]] void holder(const std::string& path, int to_parent, int from_parent) {
  {
    engine eng;
    auto ds = eng.open(path, {});
    char c = 'r';
    if (::write(to_parent, &c, 1) != 1) std::_Exit(2);
    if (::read(from_parent, &c, 1) != 1) std::_Exit(2);
    int64_t t0 = mono_ns();
    if (::write(to_parent, &t0, sizeof t0) != sizeof t0) std::_Exit(2);
    ds.close();
  }
  std::_Exit(0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int run_lock_latency(int reps, const std::string& base) {
  std::string dir = (base.empty() ? std::filesystem::temp_directory_path().string() : base) +
                    "/serialake-lock-" + std::to_string(::getpid());
  {
    engine eng;
    dataset_options o;
    o.create = true;
    eng.open(dir, o).close();
  }
  std::vector<double> release_ms, kill_ms;
  for (int rep = 0; rep < 2 * reps; ++rep) {
    const bool kill = rep % 2 == 1;
    int up[2], down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0) return 1;
    pid_t pid = ::fork();
    if (pid == 0) holder(dir, up[1], down[0]);
    char c;
    if (::read(up[0], &c, 1) != 1) return 1;
    int64_t t0 = 0, t1 = 0;
    {
      engine eng;
      dataset_options o;
      o.lock_timeout = std::chrono::milliseconds(10000);
      std::thread waiter([&] {
        auto ds = eng.open(dir, o);
        t1 = mono_ns();
        ds.close();
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the waiter is polling
      if (kill) {
        t0 = mono_ns();
        ::kill(pid, SIGKILL);
      } else {
        if (::write(down[1], &c, 1) != 1) return 1;
        if (::read(up[0], &t0, sizeof t0) != sizeof t0) return 1;
      }
      waiter.join();
    }
    ::waitpid(pid, nullptr, 0);
    for (int fd : {up[0], up[1], down[0], down[1]}) ::close(fd);
    (kill ? kill_ms : release_ms).push_back((t1 - t0) / 1e6);
  }
  std::filesystem::remove_all(dir);
  std::printf("RESULT lock_latency reps=%d release_median_ms=%.2f release_max_ms=%.2f "
              "kill_median_ms=%.2f kill_max_ms=%.2f\n",
              reps, median(release_ms), *std::max_element(release_ms.begin(), release_ms.end()),
              median(kill_ms), *std::max_element(kill_ms.begin(), kill_ms.end()));
  return 0;
}

}  // namespace serialake::bench
