// serialake-search-bench: exact search against FAISS's flat indexes, and the ANN
// candidates (hnswlib HNSW, FAISS IVF-Flat) on the same seeded clustered data.
//
//   serialake-search-bench [--n 100000] [--d 384] [--dir /tmp] [--ann] [--appends] [--reps 3]
//
// Data: 1,000 centroids (N(0,1)/sqrt(d)) plus noise (0.5 * N(0,1)/sqrt(d)), seeded;
// queries come from the same distribution. The rows are written to a dataset
// (buffered, one commit) and searched through a snapshot, so our figures
// include reading them through snapshot::scan with checksums, from the page
// cache; FAISS searches them in memory. Prints markdown table rows.
// --appends: instead of the above, append throughput into that dataset through
// the handle, alone and while threads search it through the handle's search
// (serialake/handle_search.hpp).

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <unistd.h>

#include <atomic>

#include "core/store.hpp"
#include "search/kernels.hpp"
#include "serialake/handle_search.hpp"
#include "serialake/search.hpp"

using namespace serialake;
using clk = std::chrono::steady_clock;

namespace {

struct config {
  size_t n = 100000, d = 384, nq = 256;
  std::string dir = "/tmp";
  bool ann = false;
  bool appends = false;
  size_t append_rows = 200000;
  int reps = 3;
};

std::vector<float> clustered(size_t n, size_t d, std::mt19937& rng, const std::vector<float>& c) {
  std::normal_distribution<float> g(0, 1);
  const size_t centroids = c.size() / d;
  std::vector<float> v(n * d);
  const float s = 1 / std::sqrt(float(d));
  for (size_t i = 0; i < n; ++i) {
    const size_t k = rng() % centroids;
    for (size_t j = 0; j < d; ++j) v[i * d + j] = c[k * d + j] + 0.5f * s * g(rng);
  }
  return v;
}

double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

// Median over `reps` runs of fn()'s queries per second; fn returns the queries it ran.
double median_qps(int reps, const std::function<size_t()>& fn) {
  std::vector<double> q;
  for (int r = 0; r < reps; ++r) {
    auto t = clk::now();
    const size_t n = fn();
    q.push_back(n / seconds_since(t));
  }
  std::sort(q.begin(), q.end());
  return q[q.size() / 2];
}

size_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f && std::fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  if (f) std::fclose(f);
  return size_t(res) * 4096;
}

double recall_at_10(const std::vector<std::set<int64_t>>& truth, const std::vector<std::vector<int64_t>>& got) {
  size_t found = 0;
  for (size_t i = 0; i < truth.size(); ++i)
    for (int64_t x : got[i]) found += truth[i].count(x);
  return double(found) / (10.0 * truth.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Append throughput through the dataset handle (buffered, one thread, rows of
// the data set's vectors, then a flush) alone and while 1 or 2 threads run
// exact searches (k=10, one query each) of the latest commit through the
// handle's search, run after run in turn so drift hits each alike. The
// dataset grows by append_rows per run; the searches keep to the first n rows
// (a row filter), so that each costs the same in every run. After each run,
// the same searchers for a second with no appends: their rate alone.
void append_figures(const config& c, const std::string& path, const std::vector<float>& data,
                    const std::vector<float>& queries) {
  engine eng;
  auto ds = eng.open(path);
  const uint64_t shape[1] = {c.d};
  auto append_run = [&] {
    auto t = clk::now();
    for (size_t i = 0; i < c.append_rows; ++i)
      ds.append("emb", sample_view{dtype::float32, shape, 1, data.data() + (i % c.n) * c.d, c.d * sizeof(float)});
    ds.flush();
    return c.append_rows / seconds_since(t);
  };
  search_options o;
  o.k = 10;
  o.metric = metric::ip;
  o.exact = true;
  o.filter.rows = std::make_pair(uint64_t(0), uint64_t(c.n));
  const int modes[] = {0, 1, 2};
  // Runs `searchers` threads searching until `work` returns; its result, and
  // the searches per second meanwhile.
  auto with_searchers = [&](int searchers, const std::function<double()>& work) {
    std::atomic<bool> stop{false};
    std::atomic<size_t> done{0};
    std::vector<std::thread> th;
    for (int s = 0; s < searchers; ++s)
      th.emplace_back([&, s] {
        for (size_t q = size_t(s); !stop; q = (q + 1) % c.nq) {
          search(ds, "emb", query_batch{queries.data() + q * c.d, 1, c.d}, o).get();
          ++done;
        }
      });
    auto t = clk::now();
    const double r = work();
    const double per_s = done / seconds_since(t);
    stop = true;
    for (auto& x : th) x.join();
    return std::make_pair(r, per_s);
  };
  std::vector<double> rate[3], qps[3], alone[3];
  for (int r = 0; r < c.reps; ++r)
    for (int searchers : modes) {
      auto [appends, searches] = with_searchers(searchers, append_run);
      rate[searchers].push_back(appends);
      qps[searchers].push_back(searches);
      alone[searchers].push_back(with_searchers(searchers, [] {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        return 0.0;
      }).second);
    }
  std::printf("\n| searches running (threads) | appends/s (%zu rows of %zu floats, then flush) | vs none | "
              "searches/s meanwhile | searches/s without appends |\n|---|---|---|---|---|\n",
              c.append_rows, c.d);
  for (int searchers : modes)
    std::printf("| %d | %.0f | %.2f | %.1f | %.1f |\n", searchers, median(rate[searchers]),
                median(rate[searchers]) / median(rate[0]), median(qps[searchers]), median(alone[searchers]));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--n") c.n = std::stoul(next());
    else if (a == "--d") c.d = std::stoul(next());
    else if (a == "--dir") c.dir = next();
    else if (a == "--ann") c.ann = true;
    else if (a == "--appends") c.appends = true;
    else if (a == "--reps") c.reps = std::stoi(next());
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 64; }
  }
  const size_t n = c.n, d = c.d;
  std::mt19937 rng(42);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> centers(1000 * d);
  for (float& x : centers) x = g(rng) / std::sqrt(float(d));
  auto data = clustered(n, d, rng, centers);
  auto queries = clustered(c.nq, d, rng, centers);
  std::printf("# %zu x %zu float32, 1000 centroids + noise, seed 42; AVX2 kernels: %s\n", n, d,
              search_detail::uses_avx2() ? "yes" : "no");

  const std::string path = c.dir + "/serialake-search-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(path);
  auto t0 = clk::now();
  {
    store_options so;
    so.chunk_bytes = 16 << 20;
    auto st = store::create(path, so, {{"emb", dtype::float32, "embedding", shape_t{d}}});
    std::vector<sample> batch;
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(sample::of(dtype::float32, std::vector<float>(data.begin() + i * d, data.begin() + (i + 1) * d), {d}));
      if (batch.size() == 4096 || i + 1 == n) {
        st->append_batch("emb", std::move(batch));
        batch.clear();
      }
    }
    st->commit();
  }
  std::printf("# wrote the dataset in %.1f s\n", seconds_since(t0));
  if (c.appends) {
    append_figures(c, path, data, queries);
    std::filesystem::remove_all(path);
    return 0;
  }
  open_options oo;
  oo.read_only = true;
  auto st = store::open(path, oo);
  auto snap = st->snapshot();

  std::printf("| metric | threads | batch | serialake QPS | FAISS flat QPS | ratio |\n|---|---|---|---|---|---|\n");
  for (metric m : {metric::ip, metric::l2}) {
    faiss::IndexFlat flat(int(d), m == metric::ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2);
    flat.add(faiss::Index::idx_t(n), data.data());
    for (int threads : {1, 2})
      for (size_t batch : {size_t(1), size_t(64)}) {
        const size_t nq = batch == 1 ? 16 : 128;
        search_options o;
        o.k = 10;
        o.metric = m;
        o.threads = unsigned(threads);
        const double ours = median_qps(c.reps, [&] {
          for (size_t q = 0; q < nq; q += batch)
            search(*snap, "emb", query_batch{queries.data() + q * d, batch, d}, o);
          return nq;
        });
        omp_set_num_threads(threads);
        std::vector<float> dist(batch * 10);
        std::vector<faiss::Index::idx_t> ids(batch * 10);
        const double theirs = median_qps(c.reps, [&] {
          for (size_t q = 0; q < nq; q += batch)
            flat.search(faiss::Index::idx_t(batch), queries.data() + q * d, 10, dist.data(), ids.data());
          return nq;
        });
        std::printf("| %s | %d | %zu | %.1f | %.1f | %.2f |\n", to_string(m), threads, batch, ours, theirs,
                    ours / theirs);
        std::fflush(stdout);
      }
  }

  if (c.ann) {
    // Ground truth: our exact ip top-10 (the tests check it against NumPy).
    search_options o;
    o.k = 10;
    o.metric = metric::ip;
    o.threads = 2;
    auto exact = search(*snap, "emb", query_batch{queries.data(), c.nq, d}, o);
    std::vector<std::set<int64_t>> truth;
    for (auto& h : exact) {
      truth.emplace_back();
      for (auto& x : h) truth.back().insert(int64_t(x.index));
    }
    std::printf("\n| index | build s (2 threads) | memory MiB | recall@10 | QPS (1 thread, batch 1) |\n|---|---|---|---|---|\n");
    {
      // Through the product's path: create_index (hnswlib, 2 threads) and search.
      size_t rss0 = rss_bytes();
      auto t = clk::now();
      index_options io;
      io.metric = metric::ip;
      create_index(*snap, "emb", io);
      const double build = seconds_since(t);
      const double mem = double(rss_bytes() - rss0) / (1 << 20);
      search_options ao;
      ao.k = 10;
      ao.metric = metric::ip;
      std::vector<std::vector<int64_t>> got(c.nq);
      const double qps = median_qps(c.reps, [&] {
        for (size_t q = 0; q < c.nq; ++q) {
          auto r = search(*snap, "emb", query_batch{queries.data() + q * d, 1, d}, ao)[0];
          got[q].clear();
          for (auto& h : r) got[q].push_back(int64_t(h.index));
        }
        return c.nq;
      });
      std::printf("| serialake index (hnswlib M=16 efC=200 ef=64) | %.1f | %.0f | %.4f | %.0f |\n", build, mem,
                  recall_at_10(truth, got), qps);
      std::fflush(stdout);
    }
    {
      omp_set_num_threads(2);
      size_t rss0 = rss_bytes();
      auto t = clk::now();
      const size_t nlist = size_t(std::sqrt(double(n)) * 4);
      faiss::IndexFlatIP quantizer{int(d)};
      faiss::IndexIVFFlat ivf(&quantizer, int(d), nlist, faiss::METRIC_INNER_PRODUCT);
      ivf.train(faiss::Index::idx_t(std::min(n, nlist * 39)), data.data());
      ivf.add(faiss::Index::idx_t(n), data.data());
      const double build = seconds_since(t);
      const double mem = double(rss_bytes() - rss0) / (1 << 20);
      omp_set_num_threads(1);
      for (size_t nprobe : {8, 16, 32}) {
        ivf.nprobe = nprobe;
        std::vector<std::vector<int64_t>> got(c.nq);
        std::vector<float> dist(10);
        std::vector<faiss::Index::idx_t> ids(10);
        const double qps = median_qps(c.reps, [&] {
          for (size_t q = 0; q < c.nq; ++q) {
            ivf.search(1, queries.data() + q * d, 10, dist.data(), ids.data());
            got[q].assign(ids.begin(), ids.end());
          }
          return c.nq;
        });
        std::printf("| FAISS IVF-Flat nlist=%zu nprobe=%zu | %.1f | %.0f | %.4f | %.0f |\n", nlist, nprobe, build,
                    mem, recall_at_10(truth, got), qps);
        std::fflush(stdout);
      }
    }
  }
  std::filesystem::remove_all(path);
  return 0;
}
