// One benchmark run: producers, timing, figures, and --verify.

#include "bench/run.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/stores.hpp"

namespace serialake::bench {
namespace {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

std::string make_run_dir(const std::string& base) {
  std::string root = base.empty() ? std::filesystem::temp_directory_path().string() : base;
  std::string tmpl = root + "/serialake-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a directory under " + root);
  return tmpl;
}

// Every acknowledged sample is in the store exactly once, with its bytes.
void verify(bench_reader& rd, const config& c, const std::vector<pool>& pools,
            const std::vector<std::vector<uint64_t>>& indices, uint64_t n) {
  const uint64_t held = rd.count();
  if (held != n)
    throw std::runtime_error("verify: " + c.store + " holds " + std::to_string(held) + " samples, " +
                             std::to_string(n) + " were acknowledged");
  std::vector<bool> seen(n, false);
  for (size_t p = 0; p < indices.size(); ++p)
    for (uint64_t i = 0; i < indices[p].size(); ++i) {
      uint64_t idx = indices[p][i];
      if (idx >= n || seen[idx])
        throw std::runtime_error("verify: index " + std::to_string(idx) + " out of range or repeated");
      seen[idx] = true;
      if (rd.read(idx) != std::string_view(pools[p].sample(i, c.size), c.size))
        throw std::runtime_error("verify: sample " + std::to_string(idx) + " has the wrong bytes");
    }
}

}  // namespace

result run(const config& c) {
  const std::string dir = make_run_dir(c.dir);
  struct cleanup {
    std::string d;
    ~cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup_dir{dir};

  auto st = make_store(c, dir);
  const uint64_t total = c.total ? c.total : default_total(c.size);
  std::vector<pool> pools;
  for (int p = 0; p < c.threads; ++p) pools.emplace_back(p);
  std::vector<std::vector<float>> lat(c.threads);
  std::vector<std::vector<uint64_t>> indices(c.threads);
  std::vector<uint64_t> done(c.threads, 0);

  const double cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  const auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(c.deadline));
  std::vector<std::thread> producers;
  for (int p = 0; p < c.threads; ++p)
    producers.emplace_back([&, p] {
      uint64_t share = total / c.threads + (uint64_t(p) < total % c.threads ? 1 : 0);
      lat[p].reserve(share);
      if (c.verify) indices[p].reserve(share);
      for (uint64_t i = 0; i < share; ++i) {
        auto a = clock_type::now();
        if (c.durable && a >= deadline) break;
        uint64_t idx = st->append(p, pools[p].sample(i, c.size), c.size);
        auto b = clock_type::now();
        lat[p].push_back(std::chrono::duration<float, std::micro>(b - a).count());
        if (c.verify) indices[p].push_back(idx);
        ++done[p];
      }
    });
  for (auto& t : producers) t.join();
  st->finish();
  const auto t1 = clock_type::now();

  result r;
  for (auto d : done) r.n += d;
  r.wall_s = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_s = cpu_seconds() - cpu0;
  r.batches = st->batches();
  std::vector<float> all;
  all.reserve(r.n);
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  if (!all.empty()) {
    auto pct = [&](double q) {
      auto k = static_cast<size_t>(q * (all.size() - 1));
      std::nth_element(all.begin(), all.begin() + k, all.end());
      return double(all[k]);
    };
    r.p50_us = pct(0.50);
    r.p99_us = pct(0.99);
  }
  st.reset();  // closed, so that the reader sees what a reopen after a restart would
  if (c.verify) verify(*open_reader(c, dir), c, pools, indices, r.n);
  r.rss_mb = peak_rss_mb();
  return r;
}

}  // namespace serialake::bench
