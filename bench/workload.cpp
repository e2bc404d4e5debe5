#include "bench/workload.hpp"

#include <cstdio>
#include <random>

namespace serialake::bench {

constexpr size_t pool_bytes = 1 << 20;

uint64_t default_total(size_t size) {
  return size <= 100 ? (1ull << 20) : (256ull << 20) / size;
}

pool::pool(int producer) : bytes_(pool_bytes) {
  std::mt19937_64 rng(0x5E41A1AEull + producer);
  for (size_t i = 0; i < pool_bytes; i += 8) {
    uint64_t v = rng();
    for (int k = 0; k < 8; ++k) bytes_[i + k] = static_cast<char>(v >> (8 * k));
  }
}

const char* pool::sample(uint64_t i, size_t size) const {
  // A prime stride keeps consecutive samples distinct without costing anything.
  uint64_t span = pool_bytes - size;
  return bytes_.data() + (span ? (i * 7919) % span : 0);
}

std::string result_line(const config& c, const result& r) {
  double rate = r.wall_s > 0 ? r.n / r.wall_s : 0;
  double mib = rate * c.size / (1 << 20);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "RESULT store=%s mode=%s T=%d S=%zu n=%llu wall_s=%.4f rate=%.0f mib_s=%.1f "
                "p50_us=%.1f p99_us=%.1f cpu_s=%.3f batches=%llu rss_mb=%.1f",
                c.store.c_str(), c.durable ? "durable" : "buffered", c.threads, c.size,
                static_cast<unsigned long long>(r.n), r.wall_s, rate, mib, r.p50_us, r.p99_us,
                r.cpu_s, static_cast<unsigned long long>(r.batches), r.rss_mb);
  return buf;
}

}  // namespace serialake::bench
