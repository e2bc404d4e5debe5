// Exact top-k: scans the tensor's rows (split into one contiguous range per
// thread) through snapshot::scan, scoring each block of
// rows against all queries at once (kernels.hpp) and keeping each query's best
// k (top_k.hpp). The heaps of the ranges are merged at the end.

#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "search/exact.hpp"
#include "search/kernels.hpp"

namespace serialake::search_detail {
namespace {

// Rows scored at once: 32 KiB of them, so that they stay in L1 while every tile
// of queries passes over them.
constexpr size_t block_bytes = 32 << 10;

// One thread's share: rows [begin, end), a heap per query.
class worker {
 public:
  worker(const prepared& p, const search_options& o, const row_mask& mask)
    : p_(p), m_(o.metric), mask_(mask), heaps_(p.n, top_k(o.k)) {}

  void run(const snapshot& snap, std::string_view tensor, uint64_t begin, uint64_t end) {
    if (begin >= end) return;
    snap.scan(tensor, begin, end, [&](const sample_span& s) {
      const size_t rows = std::max<size_t>(1, block_bytes / s.sample_bytes);
      const auto* v = static_cast<const float*>(s.data);
      for (uint64_t at = 0; at < s.count; at += rows)
        score(v + at * p_.d, std::min<uint64_t>(rows, s.count - at), s.first + at);
    });
  }

  std::vector<top_k>& heaps() { return heaps_; }

 private:
  // Scores rows [first, first + nv) held at `v` against every query.
  void score(const float* v, size_t nv, uint64_t first) {
    dots_.resize(p_.n * nv);
    dot_block(p_.q.data(), p_.n, v, nv, p_.d, dots_.data(), nv);
    if (m_ != metric::ip) {
      norms_.resize(nv);
      squared_norms(v, nv, p_.d, norms_.data());
      if (m_ == metric::cos)
        for (float& x : norms_) x = x > 0 ? 1 / std::sqrt(x) : 0;
    }
    for (size_t i = 0; i < p_.n; ++i) {
      const float* dot = dots_.data() + i * nv;
      top_k& h = heaps_[i];
      for (size_t j = 0; j < nv; ++j) {
        if (!mask_.allows(first + j)) continue;
        float key = dot[j];
        if (m_ == metric::cos) key *= norms_[j];
        if (m_ == metric::l2) key = -std::max(0.0f, p_.norm2[i] + norms_[j] - 2 * dot[j]);
        h.offer(key, first + j);
      }
    }
  }

  const prepared& p_;
  metric m_;
  const row_mask& mask_;
  std::vector<top_k> heaps_;
  std::vector<float> dots_, norms_;
};

}  // namespace

std::vector<top_k> exact_top_k(const snapshot& snap, std::string_view tensor, const prepared& p,
                               const search_options& o, uint64_t begin, uint64_t end, const row_mask& mask) {
  // Contiguous shares; the heaps' tie order makes the merge independent of them.
  const unsigned t = static_cast<unsigned>(std::max<uint64_t>(1, std::min<uint64_t>(o.threads, end - begin)));
  std::vector<worker> workers(t, worker(p, o, mask));
  std::vector<std::exception_ptr> errors(t);
  auto share = [&](unsigned w) {
    try {
      workers[w].run(snap, tensor, begin + (end - begin) * w / t, begin + (end - begin) * (w + 1) / t);
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned w = 1; w < t; ++w) threads.emplace_back(share, w);
  share(0);
  for (auto& th : threads) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (unsigned w = 1; w < t; ++w)
    for (size_t i = 0; i < p.n; ++i) workers[0].heaps()[i].merge(workers[w].heaps()[i]);
  return std::move(workers[0].heaps());
}

}  // namespace serialake::search_detail
