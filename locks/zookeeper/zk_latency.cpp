// serialake-zk-latency URI [N]: what the ZooKeeper lock costs, against the bare
// round trips it is made of, all in one run against one server.
//   bare      create + delete of an ephemeral sequential node on one session
//   lock      acquire + release of the writer lock (kazoo's recipe, same session)
//   hand-over after a release, and after a SIGKILLed holder (another process;
//             bounded by the session timeout, given by --session-ms, 2000 here)
// Prints p50 and p99 in microseconds (hand-overs: median in ms).
// `serialake-zk-latency hold URI SESSION_MS` is the holder child.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "locks/zookeeper/zk_session.hpp"
#include "serialake/error.hpp"
#include "serialake/locks/zookeeper.hpp"

using namespace serialake;
using clk = std::chrono::steady_clock;

namespace {

double us(clk::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

zookeeper_options opts(int session_ms) {
  zookeeper_options o;
  o.session_timeout = std::chrono::milliseconds(session_ms);
  return o;
}

lock_settings settings(std::chrono::milliseconds timeout) {
  lock_settings s;
  s.timeout = timeout;
  s.heartbeat = std::chrono::milliseconds(100);
  return s;
}

// Child: takes the lock, says so on stdout, releases it when stdin has a byte.
int hold(const std::string& uri, int session_ms) {
  auto b = zookeeper_lock_backend(parse_lock_uri(uri), opts(session_ms));
  auto l = b->acquire("/bench", settings(std::chrono::milliseconds(0)));
  char c = 'r';
  if (::write(1, &c, 1) != 1 || ::read(0, &c, 1) != 1) return 2;
  l->release();
  return 0;
}

// One hand-over: a child holds, we wait; it releases (or is killed) at t0, we
// have the lock at t1. Returns t1 - t0 in ms.
double hand_over(const std::string& uri, int session_ms, bool kill) {
  int up[2], down[2];
  if (::pipe(up) != 0 || ::pipe(down) != 0) std::exit(1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(down[0], 0);
    ::dup2(up[1], 1);
    std::string ms = std::to_string(session_ms);
    ::execl("/proc/self/exe", "serialake-zk-latency", "hold", uri.c_str(), ms.c_str(), nullptr);
    ::_exit(127);
  }
  char c;
  if (::read(up[0], &c, 1) != 1) std::exit(1);
  auto b = zookeeper_lock_backend(parse_lock_uri(uri), opts(session_ms));
  clk::time_point t0{}, t1{};
  std::thread waiter([&] {
    auto l = b->acquire("/bench", settings(std::chrono::milliseconds(60000)));
    t1 = clk::now();
  });
  // Let the waiter queue behind the holder: its on_wait would tell us, but the
  // hand-over is measured from t0 either way, and a waiter not yet queued only
  // makes it look faster by at most the 50 ms it then waits for nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  t0 = clk::now();
  if (kill) ::kill(pid, SIGKILL);
  else if (::write(down[1], "x", 1) != 1) std::exit(1);
  waiter.join();
  ::waitpid(pid, nullptr, 0);
  for (int fd : {up[0], up[1], down[0], down[1]}) ::close(fd);
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::string(argv[1]) == "hold") return hold(argv[2], std::stoi(argv[3]));
    if (argc < 2) {
      std::fprintf(stderr, "usage: serialake-zk-latency zk://host:port/path [N] [--session-ms MS]\n");
      return 64;
    }
    const std::string uri = argv[1];
    const int n = argc > 2 ? std::stoi(argv[2]) : 1000;
    const int session_ms = argc > 4 && std::string(argv[3]) == "--session-ms" ? std::stoi(argv[4]) : 2000;
    const auto u = parse_lock_uri(uri);

    zk::session z(u, opts(session_ms));
    const std::string dir = "/" + u.name + "-bare";
    z.call(z.create(dir, "", ZOO_PERSISTENT));
    std::vector<double> bare, lock;
    auto b = zookeeper_lock_backend(u, opts(session_ms));
    b->acquire("/bench", settings(std::chrono::milliseconds(0)))->release();  // connect, make the path
    for (int i = 0; i < n; ++i) {
      // Interleaved, so both see the same server and machine load.
      auto t = clk::now();
      zk::reply r = z.call(z.create(dir + "/n", "{}", ZOO_EPHEMERAL_SEQUENTIAL));
      if (r.rc != ZOK || z.call(z.remove(r.value)).rc != ZOK) throw error(errc::unavailable, "bare round trip failed");
      bare.push_back(us(clk::now() - t));
      t = clk::now();
      b->acquire("/bench", settings(std::chrono::milliseconds(0)))->release();
      lock.push_back(us(clk::now() - t));
    }
    std::printf("zookeeper %s, %d reps, session timeout %d ms\n", uri.c_str(), n, session_ms);
    std::printf("  bare create+delete (ephemeral sequential)  p50 %8.1f us  p99 %8.1f us\n", pct(bare, .5),
                pct(bare, .99));
    std::printf("  lock acquire+release                       p50 %8.1f us  p99 %8.1f us  (%.2fx, %.2fx)\n",
                pct(lock, .5), pct(lock, .99), pct(lock, .5) / pct(bare, .5), pct(lock, .99) / pct(bare, .99));
    const int reps = std::max(1, std::min(n / 100, 10));
    std::vector<double> rel, kil;
    for (int i = 0; i < reps; ++i) {
      rel.push_back(hand_over(uri, session_ms, false));
      kil.push_back(hand_over(uri, session_ms, true));
    }
    std::printf("  hand-over after release                    median %8.2f ms  (%d reps)\n", pct(rel, .5), reps);
    std::printf("  hand-over after SIGKILL of the holder      median %8.2f ms  max %.2f ms (session %d ms)\n",
                pct(kil, .5), pct(kil, 1), session_ms);
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "serialake-zk-latency: %s\n", e.what());
    return 69;
  }
}
