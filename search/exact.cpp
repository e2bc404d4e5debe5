// Exact top-k: checks the request, then scans the tensor's rows (split into one
// contiguous range per thread) through snapshot::scan, scoring each block of
// rows against all queries at once (kernels.hpp) and keeping each query's best
// k (top_k.hpp). The heaps of the ranges are merged at the end.

#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "search/filter.hpp"
#include "search/kernels.hpp"
#include "search/top_k.hpp"
#include "serialake/error.hpp"
#include "serialake/search.hpp"

namespace serialake {

const char* to_string(metric m) noexcept {
  switch (m) {
    case metric::cos: return "cos";
    case metric::l2: return "l2";
    case metric::ip: return "ip";
  }
  return "?";
}

metric parse_metric(std::string_view name) {
  if (name == "cos") return metric::cos;
  if (name == "l2") return metric::l2;
  if (name == "ip") return metric::ip;
  throw error(errc::invalid_argument, "unknown metric '" + std::string(name) + "' (use cos, l2 or ip)");
}

namespace {
using namespace search_detail;

// Rows scored at once: 32 KiB of them, so that they stay in L1 while every tile
// of queries passes over them.
constexpr size_t block_bytes = 32 << 10;
constexpr unsigned max_threads = 64;

// The queries as the kernels take them: for cos normalized (a stored vector's
// norm is divided out per row), for l2 with their squared norms.
struct prepared {
  std::vector<float> q;
  std::vector<float> norm2;
  size_t n = 0;
  size_t d = 0;
};

prepared prepare(const query_batch& b, size_t d, metric m, std::string_view tensor) {
  if (b.count && b.dim != d)
    throw error(errc::invalid_argument, "queries have dimension " + std::to_string(b.dim) + ", tensor '" +
                                            std::string(tensor) + "' has " + std::to_string(d));
  prepared p{std::vector<float>(b.data, b.data + b.count * d), std::vector<float>(b.count), b.count, d};
  for (size_t i = 0; i < p.n; ++i) {
    float* q = p.q.data() + i * d;
    for (size_t k = 0; k < d; ++k)
      if (!std::isfinite(q[k]))
        throw error(errc::invalid_argument, "query " + std::to_string(i) + " holds " +
                                                (std::isnan(q[k]) ? "NaN" : "an infinity") + " at element " +
                                                std::to_string(k));
    squared_norms(q, 1, d, &p.norm2[i]);
    if (m == metric::cos) {
      if (p.norm2[i] == 0)
        throw error(errc::invalid_argument, "query " + std::to_string(i) + " is zero: it has no cosine");
      const float inv = 1 / std::sqrt(p.norm2[i]);
      for (size_t k = 0; k < d; ++k) q[k] *= inv;
    }
  }
  return p;
}

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

std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const query_batch& queries, const search_options& o) {
  const size_t d = embedding_dim(snap, tensor);
  if (o.k == 0 || o.k > max_k)
    throw error(errc::invalid_argument, "k is " + std::to_string(o.k) + ": it must be 1 to " + std::to_string(max_k));
  if (o.threads == 0 || o.threads > max_threads)
    throw error(errc::invalid_argument, "threads is " + std::to_string(o.threads) + ": it must be 1 to " +
                                            std::to_string(max_threads));
  const prepared p = prepare(queries, d, o.metric, tensor);
  auto [begin, end] = row_range(snap, tensor, o.filter);
  const row_mask mask = make_mask(snap, o.filter, begin, end);

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

  std::vector<std::vector<hit>> out(p.n);
  for (size_t i = 0; i < p.n; ++i) {
    top_k& h = workers[0].heaps()[i];
    for (unsigned w = 1; w < t; ++w) h.merge(workers[w].heaps()[i]);
    out[i] = h.sorted(o.metric == metric::l2);
  }
  return out;
}

std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const std::vector<std::vector<float>>& queries,
                                     const search_options& o) {
  const size_t d = embedding_dim(snap, tensor);
  std::vector<float> flat;
  flat.reserve(queries.size() * d);
  for (size_t i = 0; i < queries.size(); ++i) {
    if (queries[i].size() != d)
      throw error(errc::invalid_argument, "query " + std::to_string(i) + " has dimension " +
                                              std::to_string(queries[i].size()) + ", tensor '" +
                                              std::string(tensor) + "' has " + std::to_string(d));
    flat.insert(flat.end(), queries[i].begin(), queries[i].end());
  }
  return search(snap, tensor, query_batch{flat.data(), queries.size(), d}, o);
}

}  // namespace serialake
