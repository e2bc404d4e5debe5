// serialake-bench --remote: appends through `serialake serve` (remote_dataset over
// gRPC on 127.0.0.1) against the local handle and against Redis, same payloads,
// one run.
//
// Each cell appends `total` samples of S bytes from T threads to a fresh
// dataset and ends with flush() (buffered), or has each thread append and wait
// for each durable acknowledgement in turn (durable). Remote cells run in this
// process (one remote_dataset), and again split over 4 client processes
// (serialake-bench --remote-worker, T/4 threads each, timed from the first
// start to the last end). The Redis column RPUSHes the same payloads
// (redis_baseline.hpp) from 16 connections, 64 in flight each; durable cells
// are also compared with T connections that wait for each reply, as serialake's
// durable producers do. The durable T=1 cells also time each append: p50/p99.
// The server is this build's `serialake` binary (next to serialake-bench),
// started on a free port over a temporary root and stopped with SIGTERM.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/redis_baseline.hpp"
#include "bench/run.hpp"
#include "serialake/dataset.hpp"
#include "serialake/remote.hpp"
#include "tests/free_port.hpp"
#include "tests/process.hpp"

namespace serialake::bench {
namespace {

using clock_type = std::chrono::steady_clock;

// The server process; waits until it answers.
struct server {
  pid_t pid = -1;
  std::string base;
  server(const std::string& cli, const std::string& root, uint16_t port) {
    base = "serialake://127.0.0.1:" + std::to_string(port) + "/";
    pid = ::fork();
    if (pid == 0) {
      std::string listen = "127.0.0.1:" + std::to_string(port);
      ::execl(cli.c_str(), cli.c_str(), "serve", "--listen", listen.c_str(), "--root", root.c_str(),
              static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // up to 10 s
      try {
        remote_dataset::create(base + "probe", {});
        return;
      } catch (const error& e) {
        if (e.code() != errc::unavailable) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the server did not start");
  }
  ~server() {
    ::kill(pid, SIGTERM);
    int st = 0;
    ::waitpid(pid, &st, 0);
  }
};

struct cell {
  const char* mode;
  size_t size;
  int threads;
  uint64_t total;
};

// Per-append waits of the durable cells, in microseconds (all threads).
struct latencies {
  std::mutex mtx;
  std::vector<double> us;
  void add(const std::vector<double>& v) {
    std::lock_guard<std::mutex> g(mtx);
    us.insert(us.end(), v.begin(), v.end());
  }
  double percentile(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())))];
  }
};

// Runs `body(thread, count)` on T threads; returns samples per second.
double timed(int threads, uint64_t total, const std::function<void(int, uint64_t)>& body,
             const std::function<void()>& end) {
  auto t0 = clock_type::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(body, t, total / threads);
  for (auto& t : ts) t.join();
  end();
  return static_cast<double>(total / threads * threads) /
         std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Appends `n` payloads through `append`, waiting for each if `durable` (and
// then recording each wait in `lat`).
template <class Append>
void producer(uint64_t n, size_t size, bool durable, latencies& lat, Append append) {
  std::string payload(size, 'x');
  std::vector<double> waits;
  for (uint64_t i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    auto f = append(sample::of_bytes(payload));
    if (!durable) continue;
    f.get();
    waits.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  lat.add(waits);
}

double run_local(const cell& c, const std::string& dir, latencies& lat) {
  engine eng;
  dataset_options o;
  o.create = true;
  o.policy.mode = std::string(c.mode) == "durable" ? durability::durable : durability::buffered;
  auto ds = eng.open(dir, o);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  const bool durable = o.policy.mode == durability::durable;
  return timed(
      c.threads, c.total,
      [&](int, uint64_t n) { producer(n, c.size, durable, lat, [&](sample s) { return ds.append("x", std::move(s)); }); },
      [&] { ds.flush(); });
}

double run_remote(const cell& c, const std::string& uri, latencies& lat) {
  remote_options o;
  o.durable = std::string(c.mode) == "durable";
  remote_dataset ds(uri, o);
  return timed(
      c.threads, c.total,
      [&](int, uint64_t n) { producer(n, c.size, o.durable, lat, [&](sample s) { return ds.append("x", std::move(s)); }); },
      [&] { ds.flush(); });
}

// The same cell split over `procs` worker processes; samples per second from
// the first worker's start to the last one's end.
double run_remote_procs(const cell& c, const std::string& self, const std::string& uri, int procs) {
  std::vector<std::unique_ptr<test::child>> ws;
  for (int p = 0; p < procs; ++p)
    ws.push_back(std::make_unique<test::child>(std::vector<std::string>{
        self, "--remote-worker", uri, "--mode", c.mode, "--size", std::to_string(c.size), "--threads",
        std::to_string(std::max(1, c.threads / procs)), "--total", std::to_string(c.total / procs)}));
  int64_t first = INT64_MAX, last = 0;
  uint64_t count = 0;
  for (auto& w : ws) {
    long long start = 0, end = 0;
    unsigned long long n = 0;
    const std::string l = w->line(std::chrono::minutes(10));
    if (std::sscanf(l.c_str(), "%lld %lld %llu", &start, &end, &n) != 3)
      throw std::runtime_error("a --remote-worker failed: '" + l + "'");
    first = std::min<int64_t>(first, start);
    last = std::max<int64_t>(last, end);
    count += n;
    w->wait();
  }
  return static_cast<double>(count) / (static_cast<double>(last - first) / 1e9);
}

int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int run_remote_bench(const std::string& self, const std::string& base_dir) {
  namespace fs = std::filesystem;
  const std::string cli = (fs::path(self).parent_path() / "serialake").string();
  const fs::path root = fs::path(base_dir.empty() ? fs::temp_directory_path().string() : base_dir) /
                        ("serialake-remote-" + std::to_string(::getpid()));
  fs::create_directories(root / "remote");
  redis_baseline redis;
  const std::vector<cell> cells{
      {"buffered", 100, 1, 200000},  {"buffered", 100, 16, 400000},
      {"buffered", 4096, 1, 32768},  {"buffered", 4096, 16, 65536},
      {"durable", 4096, 1, 2000},    {"durable", 4096, 16, 16000},
  };
  constexpr int procs = 4;
  std::printf("| mode | S | T | local | remote | remote, %d processes | Redis RPUSH | remote / local | "
              "%d processes / local | remote / Redis |\n", procs, procs);
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  std::string latency_rows, waiting_rows;
  {
    server srv(cli, (root / "remote").string(), test::free_port());
    int k = 0;
    for (auto& c : cells) {
      const std::string name = "d" + std::to_string(k++);
      latencies local_lat, remote_lat;
      const double local = run_local(c, (root / ("local-" + name)).string(), local_lat);
      remote_dataset::create(srv.base + name, {{"x", dtype::bytes, "generic", {}}});
      const double remote = run_remote(c, srv.base + name, remote_lat);
      double split = 0;
      if (c.threads >= procs) {
        remote_dataset::create(srv.base + name + "p", {{"x", dtype::bytes, "generic", {}}});
        split = run_remote_procs(c, self, srv.base + name + "p", procs);
      }
      const double rds = redis.rpush_rate(std::string(c.mode) == "durable", c.size, c.total);
      const std::string split_s = split > 0 ? std::to_string(static_cast<long long>(split)) : "-";
      char ratio[32] = "-";
      if (split > 0) std::snprintf(ratio, sizeof ratio, "%.2f", split / local);
      std::printf("| %s | %zu | %d | %.0f | %.0f | %s | %.0f | %.2f | %s | %.2f |\n", c.mode, c.size, c.threads, local,
                  remote, split_s.c_str(), rds, remote / local, ratio, remote / rds);
      std::fflush(stdout);
      if (std::string(c.mode) == "durable") {
        // Redis as serialake's durable cells run: each client waits for each reply.
        const double one = redis.rpush_rate(true, c.size, c.total, c.threads, 1);
        char line[200];
        std::snprintf(line, sizeof line, "| %zu | %d | %.0f | %.0f | %.0f | %.2f |\n", c.size, c.threads, local, remote,
                      one, remote / one);
        waiting_rows += line;
      }
      if (std::string(c.mode) == "durable" && c.threads == 1) {
        char line[200];
        std::snprintf(line, sizeof line, "| %zu | %.0f | %.0f | %.0f | %.0f |\n", c.size, local_lat.percentile(0.5),
                      local_lat.percentile(0.99), remote_lat.percentile(0.5), remote_lat.percentile(0.99));
        latency_rows += line;
      }
    }
  }
  std::printf("\nDurable, each of T clients waiting for each acknowledgement (Redis: T connections, appendfsync "
              "always, one RPUSH in flight each)\n\n| S | T | local | remote | Redis | remote / Redis |\n"
              "|---|---|---|---|---|---|\n%s",
              waiting_rows.c_str());
  std::printf("\nOne durable append, T=1 (microseconds)\n\n| S | local p50 | local p99 | remote p50 | remote p99 |\n"
              "|---|---|---|---|---|\n%s", latency_rows.c_str());
  fs::remove_all(root);
  return 0;
}

}  // namespace serialake::bench

namespace serialake::bench {

int run_remote_worker(const std::string& uri, bool durable, size_t size, int threads, uint64_t total) {
  remote_options o;
  o.durable = durable;
  remote_dataset ds(uri, o);
  latencies unused;
  const int64_t start = wall_ns();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] { producer(total / threads, size, durable, unused, [&](sample s) { return ds.append("x", std::move(s)); }); });
  for (auto& t : ts) t.join();
  ds.flush();
  std::printf("%lld %lld %llu\n", static_cast<long long>(start), static_cast<long long>(wall_ns()),
              static_cast<unsigned long long>(total / threads * threads));
  return 0;
}

}  // namespace serialake::bench
