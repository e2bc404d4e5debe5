// Lock figures (serialake-bench --lock-latency N [--lock URI]):
//  - hand-over: how long a waiting writer takes to get the dataset lock after
//    the holder (another process) releases it, and after the holder is SIGKILLed;
//  - with a lock service (--lock URI): acquire+release p50/p99 through the
//    backend, side by side with the service's bare round trips for the same
//    operations (bench/lock_bare.cpp), alternating, in the same run;
//  - 8 processes x 1,000 rows through the file lock and, with --lock, the service
//    (bench/lock_contention.cpp).
// Holders use a TTL / validity of 1 s (lock_validity), heartbeat 100 ms: that
// bounds the hand-over after a SIGKILL for a service (the file lock sees the dead
// process at once).

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

#include "bench/lock_bench.hpp"
#include "serialake/dataset.hpp"
#include "bench/run.hpp"
#include "serialake/lock_services.hpp"

namespace serialake::bench {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Child: takes the lock, says "ready", waits for a byte, then (release) writes
// the time it starts to close and closes, or (kill) just waits to be killed.
[[noreturn]] void holder(const std::string& path, const std::string& uri, int to_parent, int from_parent) {
  {
    engine eng;
    auto ds = eng.open(path, lock_options(uri, std::chrono::milliseconds(0)));
    char c = 'r';
    if (::write(to_parent, &c, 1) != 1) std::_Exit(2);
    if (::read(from_parent, &c, 1) != 1) std::_Exit(2);
    int64_t t0 = mono_ns();
    if (::write(to_parent, &t0, sizeof t0) != sizeof t0) std::_Exit(2);
    ds.close();
  }
  std::_Exit(0);
}

// Hand-over after a release and after a SIGKILL, `reps` of each, alternating.
int hand_over(int reps, const std::string& dir, const std::string& uri) {
  std::vector<double> release_ms, kill_ms;
  for (int rep = 0; rep < 2 * reps; ++rep) {
    const bool kill = rep % 2 == 1;
    int up[2], down[2];
    if (::pipe(up) != 0 || ::pipe(down) != 0) return 1;
    pid_t pid = ::fork();  // no backend or engine lives in this process now
    if (pid == 0) holder(dir, uri, up[1], down[0]);
    char c;
    if (::read(up[0], &c, 1) != 1) return 1;
    int64_t t0 = 0, t1 = 0;
    {
      engine eng;
      std::thread waiter([&] {
        auto ds = eng.open(dir, lock_options(uri, std::chrono::milliseconds(10000)));
        t1 = mono_ns();
        ds.close();
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the waiter waits
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
  std::printf("RESULT lock_latency lock=%s reps=%d release_median_ms=%.2f release_max_ms=%.2f "
              "kill_median_ms=%.2f kill_max_ms=%.2f\n",
              uri.empty() ? "file" : uri.c_str(), reps, percentile(release_ms, 0.5),
              percentile(release_ms, 1.0), percentile(kill_ms, 0.5), percentile(kill_ms, 1.0));
  return 0;
}

// acquire+release through the backend, alternating with the bare round trips.
void round_trips(int reps, const std::string& dir, const std::string& uri) {
  auto backend = lock_backend_for(uri);
  bare_round_trip bare(uri);
  lock_settings s;
  s.validity = std::chrono::milliseconds(10000);
  backend->acquire(dir, s)->release();  // connect, subscribe: not part of the figures
  bare.once();
  std::vector<double> through, raw;
  for (int i = 0; i < 10 * reps; ++i) {
    int64_t t0 = mono_ns();
    backend->acquire(dir, s)->release();
    int64_t t1 = mono_ns();
    bare.once();
    int64_t t2 = mono_ns();
    through.push_back((t1 - t0) / 1e3);
    raw.push_back((t2 - t1) / 1e3);
  }
  const double p50 = percentile(through, 0.5), bare50 = percentile(raw, 0.5);
  std::printf("RESULT lock_round_trip lock=%s n=%zu acquire_release_p50_us=%.0f p99_us=%.0f "
              "bare_%s_p50_us=%.0f p99_us=%.0f ratio_p50=%.2f\n",
              uri.c_str(), through.size(), p50, percentile(through, 0.99), bare.what().c_str(), bare50,
              percentile(raw, 0.99), p50 / bare50);
}

}  // namespace

dataset_options lock_options(const std::string& uri, std::chrono::milliseconds timeout) {
  dataset_options o;
  if (!uri.empty()) o.locking = lock_backend_for(uri);
  o.lock_timeout = timeout;
  o.lock_validity = std::chrono::milliseconds(1000);
  o.lock_heartbeat = std::chrono::milliseconds(100);
  return o;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

int run_lock_latency(int reps, const std::string& base, const std::string& uri) {
  std::string dir = (base.empty() ? std::filesystem::temp_directory_path().string() : base) +
                    "/serialake-lock-" + std::to_string(::getpid());
  {
    engine eng;
    dataset_options o;
    o.create = true;
    eng.open(dir, o).close();
  }
  int rc = hand_over(reps, dir, "");
  if (rc == 0 && !uri.empty()) rc = hand_over(reps, dir, uri);
  if (rc == 0) rc = contention(dir, "");
  if (rc == 0 && !uri.empty()) rc = contention(dir, uri);
  // Bare round trips are here for Redis; ZooKeeper's are in serialake-zk-latency.
  if (rc == 0 && uri.rfind("redis://", 0) == 0) round_trips(reps, dir, uri);
  std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace serialake::bench
