// serialake-bench --remote: appends through `serialake serve` (remote_dataset over
// gRPC on 127.0.0.1) against the local handle, same payloads, one run.
//
// Each cell appends `total` samples of S bytes from T threads to a fresh
// dataset and ends with flush() (buffered), or has each thread append and wait
// for each durable acknowledgement in turn (durable). The server is this
// build's `serialake` binary (next to serialake-bench), started on a free port
// over a temporary root and stopped with SIGTERM.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/run.hpp"
#include "serialake/dataset.hpp"
#include "serialake/remote.hpp"
#include "tests/free_port.hpp"

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

double run_local(const cell& c, const std::string& dir) {
  engine eng;
  dataset_options o;
  o.create = true;
  o.policy.mode = std::string(c.mode) == "durable" ? durability::durable : durability::buffered;
  auto ds = eng.open(dir, o);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  const bool durable = o.policy.mode == durability::durable;
  return timed(
      c.threads, c.total,
      [&](int, uint64_t n) {
        std::string payload(c.size, 'x');
        for (uint64_t i = 0; i < n; ++i) {
          auto f = ds.append("x", sample::of_bytes(payload));
          if (durable) f.get();
        }
      },
      [&] { ds.flush(); });
}

double run_remote(const cell& c, const std::string& uri) {
  remote_dataset::create(uri, {{"x", dtype::bytes, "generic", {}}});
  remote_options o;
  o.durable = std::string(c.mode) == "durable";
  remote_dataset ds(uri, o);
  return timed(
      c.threads, c.total,
      [&](int, uint64_t n) {
        std::string payload(c.size, 'x');
        for (uint64_t i = 0; i < n; ++i) {
          auto f = ds.append("x", sample::of_bytes(payload));
          if (o.durable) f.get();
        }
      },
      [&] { ds.flush(); });
}

}  // namespace

int run_remote_bench(const std::string& self, const std::string& base_dir) {
  namespace fs = std::filesystem;
  const std::string cli = (fs::path(self).parent_path() / "serialake").string();
  const fs::path root = fs::path(base_dir.empty() ? fs::temp_directory_path().string() : base_dir) /
                        ("serialake-remote-" + std::to_string(::getpid()));
  fs::create_directories(root / "remote");
  const std::vector<cell> cells{
      {"buffered", 100, 1, 200000},  {"buffered", 100, 16, 400000},
      {"buffered", 4096, 1, 32768},  {"buffered", 4096, 16, 65536},
      {"durable", 4096, 1, 2000},    {"durable", 4096, 16, 16000},
  };
  std::printf("| mode | S | T | local samples/s | remote samples/s | remote / local |\n");
  std::printf("|---|---|---|---|---|---|\n");
  {
    server srv(cli, (root / "remote").string(), test::free_port());
    int k = 0;
    for (auto& c : cells) {
      const std::string name = "d" + std::to_string(k++);
      double local = run_local(c, (root / ("local-" + name)).string());
      double remote = run_remote(c, srv.base + name);
      std::printf("| %s | %zu | %d | %.0f | %.0f | %.2f |\n", c.mode, c.size, c.threads, local, remote,
                  remote / local);
      std::fflush(stdout);
    }
  }
  fs::remove_all(root);
  return 0;
}

}  // namespace serialake::bench
