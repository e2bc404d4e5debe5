#pragma once
// Datasets for the search tests: seeded clustered float32 embeddings (centroids
// plus noise, like real embeddings) in a store of their own.

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/store.hpp"
#include "serialake/dataset.hpp"
#include "serialake/search.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

/// `n` vectors of `d` floats around `centroids` seeded centers, row-major.
inline std::vector<float> clustered(size_t n, size_t d, size_t centroids, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> c(centroids * d);
  for (float& x : c) x = g(rng) / std::sqrt(float(d));
  std::vector<float> v(n * d);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = rng() % centroids;
    for (size_t j = 0; j < d; ++j) v[i * d + j] = c[k * d + j] + 0.3f * g(rng) / std::sqrt(float(d));
  }
  return v;
}

/// A store with tensors "emb" (float32 [d]) and "label" (int64 class_label);
/// `rows_per_commit` rows per commit. Small chunks, so that scans cross chunks.
struct embedding_store {
  temp_dir dir;
  std::unique_ptr<store> st;
  size_t d;

  embedding_store(const std::vector<float>& v, size_t dim, const std::vector<int64_t>& labels,
                  size_t rows_per_commit = 1000)
    : d(dim) {
    store_options o;
    o.chunk_bytes = 64 << 10;
    st = store::create(dir.path() + "/ds", o,
                       {{"emb", dtype::float32, "embedding", shape_t{dim}},
                        {"label", dtype::int64, "class_label", shape_t{}}});
    const size_t n = v.size() / dim;
    for (size_t i = 0; i < n; ++i) {
      std::vector<float> x(v.begin() + i * dim, v.begin() + (i + 1) * dim);
      st->append_row({{"emb", sample::of(dtype::float32, x, {dim})},
                      {"label", sample::scalar<int64_t>(dtype::int64, labels[i % labels.size()])}});
      if ((i + 1) % rows_per_commit == 0) st->commit();
    }
    st->commit();
  }
};

/// A new dataset in `dir` with one tensor "emb" of float32 [d].
inline dataset embedding_dataset(engine& eng, const temp_dir& dir, size_t d) {
  dataset_options opts;
  opts.create = true;
  auto ds = eng.open(dir.path() + "/ds", opts);
  ds.create_tensor({"emb", dtype::float32, "embedding", shape_t{d}});
  return ds;
}

/// Commit c's rows for the concurrency tests: `per` rows of (c+1, ..., c+1).
/// Under ip they outscore every earlier commit's rows and tie among
/// themselves (so they come back in index order).
inline std::vector<sample> commit_rows(size_t c, size_t per, size_t d) {
  return std::vector<sample>(per, sample::of(dtype::float32, std::vector<float>(d, float(c + 1)), {d}));
}

/// Starts a thread appending `commits` commits of commit_rows to "emb" of
/// `ds`, each flushed, then setting `done`.
inline std::thread commit_writer(dataset& ds, size_t commits, size_t per, size_t d, std::atomic<bool>& done) {
  return std::thread([&ds, &done, commits, per, d] {
    for (size_t c = 0; c < commits; ++c) {
      ds.append_batch("emb", commit_rows(c, per, d));
      ds.flush();
    }
    done = true;
  });
}

/// The search whole_commit_hit expects: ip, k = 2 * per.
inline search_options whole_commit_search(size_t per) {
  search_options o;
  o.metric = metric::ip;
  o.k = 2 * per;
  return o;
}

/// The row hit i must be in an ip search of (1, ..., 1) with k = 2 * per over
/// commit_rows whose newest commit is `newest`: that commit's rows in index
/// order, then the commit's before it.
inline uint64_t whole_commit_hit(size_t i, uint64_t newest, size_t per) {
  return i < per ? newest * per + i : (newest - 1) * per + (i - per);
}

}  // namespace serialake::test
