// The matrix runner: one child process per run (so peak RSS is per run), stores
// interleaved A B C D A B C D ... within each cell, medians per cell and store.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/run.hpp"

namespace serialake::bench {
namespace {

using fields = std::map<std::string, std::string>;

// Runs `argv`, returns its stdout; empty on failure.
std::string run_child(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : std::string{};
}

fields parse_result(const std::string& out) {
  fields f;
  auto pos = out.find("RESULT ");
  if (pos == std::string::npos) return f;
  std::istringstream in(out.substr(pos + 7));
  std::string kv;
  while (in >> kv) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) f[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return f;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string fmt(double x, int prec = 0) {
  char b[64];
  if (x >= 1e6 && prec == 0)
    std::snprintf(b, sizeof b, "%.2fM", x / 1e6);
  else if (x >= 1e4 && prec == 0)
    std::snprintf(b, sizeof b, "%.0fk", x / 1e3);
  else
    std::snprintf(b, sizeof b, "%.*f", prec, x);
  return b;
}

}  // namespace

int run_matrix(const std::string& self, const matrix_options& m) {
  std::ofstream csv(m.csv);
  csv << "store,mode,T,S,rep,n,wall_s,rate,mib_s,p50_us,p99_us,cpu_s,batches,rss_mb\n";
  std::printf("| mode | S | T | store | samples/s | MiB/s | p50 us | p99 us | cpu s | batches | rss MB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<std::string> summary;
  int failures = 0;
  for (auto& mode : m.modes)
    for (size_t size : m.sizes)
      for (int t : m.threads) {
        std::map<std::string, std::map<std::string, std::vector<double>>> got;
        for (int rep = 0; rep < m.reps; ++rep)
          for (auto& store : m.stores) {
            std::vector<std::string> argv{self, "--store", store, "--mode", mode, "--threads",
                                          std::to_string(t), "--size", std::to_string(size),
                                          "--deadline", std::to_string(m.deadline)};
            if (!m.dir.empty()) argv.insert(argv.end(), {"--dir", m.dir});
            fields f = parse_result(run_child(argv));
            if (f.empty()) {
              std::fprintf(stderr, "run failed: %s %s T=%d S=%zu\n", store.c_str(), mode.c_str(), t, size);
              ++failures;
              continue;
            }
            csv << store << ',' << mode << ',' << t << ',' << size << ',' << rep;
            for (const char* k : {"n", "wall_s", "rate", "mib_s", "p50_us", "p99_us", "cpu_s", "batches", "rss_mb"}) {
              csv << ',' << f[k];
              got[store][k].push_back(std::stod(f[k]));
            }
            csv << '\n';
            csv.flush();
          }
        double best_base_rate = 0, ideal_rate = 0, ideal_p99 = 0;
        for (auto& store : m.stores) {
          auto& g = got[store];
          if (g.empty()) continue;
          std::printf("| %s | %zu | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", mode.c_str(), size, t,
                      store.c_str(), fmt(median(g["rate"])).c_str(), fmt(median(g["mib_s"]), 1).c_str(),
                      fmt(median(g["p50_us"]), 1).c_str(), fmt(median(g["p99_us"]), 1).c_str(),
                      fmt(median(g["cpu_s"]), 2).c_str(), fmt(median(g["batches"])).c_str(),
                      fmt(median(g["rss_mb"]), 0).c_str());
          if (store == "ideal" || store == "naive") best_base_rate = std::max(best_base_rate, median(g["rate"]));
          if (store == "ideal") {
            ideal_rate = median(g["rate"]);
            ideal_p99 = median(g["p99_us"]);
          }
        }
        std::fflush(stdout);
        if (got.count("serialake") && best_base_rate > 0) {
          const double rate = median(got["serialake"]["rate"]);
          char line[256];
          std::snprintf(line, sizeof line,
                        "%s S=%zu T=%d: serialake/best baseline = %.2f (rate), serialake/ideal = %.2f, "
                        "p99 serialake/ideal = %.2f",
                        mode.c_str(), size, t, rate / best_base_rate, ideal_rate ? rate / ideal_rate : 0,
                        ideal_p99 ? median(got["serialake"]["p99_us"]) / ideal_p99 : 0);
          std::string l = line;
          for (const char* peer : {"leveldb", "rocksdb", "lmdb", "sqlite"})
            if (got.count(peer) && median(got[peer]["rate"]) > 0) {
              std::snprintf(line, sizeof line, ", /%s = %.2f", peer, rate / median(got[peer]["rate"]));
              l += line;
            }
          summary.push_back(l);
        }
      }
  std::printf("\nRatios (medians of %d runs):\n", m.reps);
  for (auto& l : summary) std::printf("- %s\n", l.c_str());
  std::printf("\nraw runs: %s\n", m.csv.c_str());
  return failures ? 1 : 0;
}

}  // namespace serialake::bench
