// serialake-bench --read: what bulk and point reads of a snapshot reach, against
// the chunk files read directly (the physical limit) and against LMDB and
// RocksDB point reads of the same records. Datasets are generated first, outside
// the timing; every figure is the median of `reps` runs, interleaved so that a
// noisy moment hits all of them alike.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>

#include "bench/read_bench.hpp"
#include "core/store.hpp"
#include "serialake/snapshot.hpp"

namespace serialake::bench {
namespace {

namespace fs = std::filesystem;

// One figure: its label, threads, and the seconds of each repetition.
struct figure {
  std::string label;
  int threads;
  uint64_t samples;
  std::vector<double> secs;
  double median() const {
    auto v = secs;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
};

// A generated dataset of one tensor "x" of fixed-size uint8 samples.
struct dataset {
  std::string path;
  uint64_t n;
  size_t size;
  std::vector<std::string> files;  // its chunk files
};

dataset make_dataset(const std::string& path, uint64_t n, size_t size) {
  auto st = store::create(path, {}, {{"x", dtype::uint8, "generic", shape_t{size}}});
  for (uint64_t i = 0; i < n; ++i) {
    sample s{dtype::uint8, {size}, std::string(size, '\0')};
    fill_sample(i, s.data.data(), size);
    st->append("x", std::move(s));
    if ((i + 1) % 65536 == 0) st->commit();
  }
  st->commit();
  dataset d{path, n, size, {}};
  for (auto& e : fs::directory_iterator(path + "/chunks/x")) d.files.push_back(e.path().string());
  std::sort(d.files.begin(), d.files.end());
  return d;
}

std::vector<uint64_t> random_indices(uint64_t n, uint64_t count) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> v(count);
  for (auto& x : v) x = rng() % n;
  return v;
}

// [first, last) of `n` for thread k of `threads`.
std::pair<uint64_t, uint64_t> slice(uint64_t n, int k, int threads) {
  return {n * k / threads, n * (k + 1) / threads};
}

void print_table(const dataset& d, const std::vector<figure>& figs) {
  std::map<std::pair<std::string, int>, double> rate;  // samples/s by label and threads
  for (auto& f : figs) rate[{f.label, f.threads}] = f.samples / f.median();
  auto ratio = [&](const figure& f, const char* base) -> std::string {
    auto it = rate.find({base, f.threads});
    if (it == rate.end()) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2fx %s", rate[{f.label, f.threads}] / it->second, base);
    return buf;
  };
  std::printf("\n### %zu B samples: %llu samples, %.0f MiB in %zu chunk files\n\n", d.size,
              static_cast<unsigned long long>(d.n), d.n * double(d.size) / (1 << 20), d.files.size());
  std::printf("| read | threads | MiB/s | samples/s | ratio |\n|---|---|---|---|---|\n");
  for (auto& f : figs) {
    const double r = f.samples / f.median();
    std::string vs;
    if (f.label == "scan") vs = ratio(f, "pread") + ", " + ratio(f, "pread + XXH3");
    if (f.label == "scan (cold)") vs = ratio(f, "pread (cold)");
    if (f.label == "pread + XXH3" || f.label == "mmap + XXH3") vs = ratio(f, "pread");
    if (f.label == "read_into random") vs = ratio(f, "LMDB get random") + ", " + ratio(f, "RocksDB get random");
    std::printf("| %s | %d | %.0f | %.0f | %s |\n", f.label.c_str(), f.threads, r * d.size / (1 << 20), r,
                vs.c_str());
  }
  std::fflush(stdout);
}

void bench_size(const read_options& o, const std::string& root, size_t size) {
  const uint64_t n = (o.mib << 20) / size;
  const std::string dir = root + "/s" + std::to_string(size);
  fs::create_directories(dir);
  std::fprintf(stderr, "read bench: generating %llu samples of %zu B (serialake, LMDB, RocksDB)...\n",
               static_cast<unsigned long long>(n), size);
  dataset d = make_dataset(dir + "/serialake", n, size);
  auto lmdb = load_lmdb(dir + "/lmdb", n, size);
  auto rocks = load_rocksdb(dir + "/rocksdb", n, size);
  auto st = store::open(d.path, {true, {}, {}, {}});
  auto snap = st->snapshot();
  const auto random = random_indices(n, std::min<uint64_t>(n, 1 << 20));
  const uint64_t nr = random.size();

  // Each measure: label, threads, samples it reads, and the timed body.
  struct measure {
    std::string label;
    int threads;
    uint64_t samples;
    std::function<double()> run;
  };
  std::vector<measure> ms;
  auto peer = [&](point_store& p) {
    return [&p, &random, nr, size](int threads) {
      return timed_threads(threads, [&](int k) {
        auto r = p.reader();
        std::vector<char> buf(size);
        auto [a, b] = slice(nr, k, threads);
        for (uint64_t j = a; j < b; ++j) r->get(random[j], buf.data(), buf.size());
      });
    };
  };
  auto lmdb_get = peer(*lmdb);
  auto rocks_get = peer(*rocks);
  for (int t : {1, 2}) {
    ms.push_back({"pread", t, n, [&, t] { return pread_files(d.files, t, 0); }});
    ms.push_back({"pread + XXH3", t, n, [&, t] { return pread_files(d.files, t, size); }});
    ms.push_back({"mmap + XXH3", t, n, [&, t] { return mmap_files(d.files, t, size); }});
    ms.push_back({"scan", t, n, [&, t] {
      return timed_threads(t, [&](int k) {
        auto [a, b] = slice(n, k, t);
        uint64_t seen = 0;
        snap->scan("x", a, b, [&](const sample_span& sp) { seen += sp.count; });
        if (seen != b - a) throw std::runtime_error("scan missed samples");
      });
    }});
    ms.push_back({"read_into random", t, nr, [&, t] {
      return timed_threads(t, [&](int k) {
        std::vector<char> buf(size);
        auto [a, b] = slice(nr, k, t);
        for (uint64_t j = a; j < b; ++j) snap->read_into("x", random[j], buf.data(), buf.size());
      });
    }});
    ms.push_back({"LMDB get random", t, nr, [&, t] { return lmdb_get(t); }});
    ms.push_back({"RocksDB get random", t, nr, [&, t] { return rocks_get(t); }});
  }
  // Today's per-sample read(), for reference.
  const uint64_t ns = std::min<uint64_t>(n, 1 << 20);
  ms.push_back({"read() sequential", 1, ns, [&] {
    return timed_threads(1, [&](int) { for (uint64_t i = 0; i < ns; ++i) snap->read("x", i); });
  }});
  ms.push_back({"read() random", 1, nr, [&] {
    return timed_threads(1, [&](int) { for (auto i : random) snap->read("x", i); });
  }});

  std::vector<figure> figs;
  for (auto& m : ms) figs.push_back({m.label, m.threads, m.samples, {}});
  for (auto& m : ms) m.run();  // warm the page cache and the open files
  for (int rep = 0; rep < o.reps; ++rep)
    for (size_t k = 0; k < ms.size(); ++k) figs[k].secs.push_back(ms[k].run());
  // Cold: from the disk, one run each, after dropping the page cache.
  if (o.cold && drop_caches()) {
    figs.push_back({"pread (cold)", 1, n, {pread_files(d.files, 1, 0)}});
    drop_caches();
    st = store::open(d.path, {true, {}, {}, {}});  // no file left open from before
    snap = st->snapshot();
    figs.push_back({"scan (cold)", 1, n, {timed_threads(1, [&](int) {
                      snap->scan("x", 0, n, [](const sample_span&) {});
                    })}});
  } else if (o.cold) {
    std::fprintf(stderr, "read bench: cannot drop the page cache (not root?): no cold figures\n");
  }
  print_table(d, figs);
  snap.reset();
  st.reset();
  lmdb.reset();
  rocks.reset();
  fs::remove_all(dir);
}

}  // namespace

void fill_sample(uint64_t i, char* out, size_t size) {
  // splitmix64 of (i, word): incompressible, and distinct per sample.
  for (size_t at = 0; at < size; at += 8) {
    uint64_t z = i * 0x9E3779B97F4A7C15ull + at + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(out + at, &z, std::min<size_t>(8, size - at));
  }
}

int run_read_bench(const read_options& o) {
  std::string base = o.dir.empty() ? fs::temp_directory_path().string() : o.dir;
  std::string root = base + "/serialake-read-XXXXXX";
  if (!::mkdtemp(root.data())) throw std::runtime_error("cannot create a directory under " + base);
  std::printf("## serialake-bench --read: %llu MiB per dataset, median of %d runs\n",
              static_cast<unsigned long long>(o.mib), o.reps);
  try {
    for (size_t size : o.sizes) bench_size(o, root, size);
  } catch (...) {
    fs::remove_all(root);
    throw;
  }
  fs::remove_all(root);
  return 0;
}

}  // namespace serialake::bench
