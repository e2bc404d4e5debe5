// Exact search against NumPy's brute force on the same data, the tie order,
// the filters, and the errors of bad queries.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "serialake/search.hpp"
#include "search/kernels.hpp"
#include "tests/app/cli_runner.hpp"
#include "tests/expect_code.hpp"
#include "tests/search/search_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

void write_file(const std::string& path, const void* p, size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(p), static_cast<std::streamsize>(bytes));
}

// NumPy's score of every row per query (NaN: filtered out).
std::vector<std::vector<double>> numpy_scores(const std::string& dir, const std::vector<float>& v, size_t d,
                                              const std::vector<float>& q, metric m,
                                              std::vector<std::string> filter = {}) {
  write_file(dir + "/data.f32", v.data(), v.size() * 4);
  write_file(dir + "/q.f32", q.data(), q.size() * 4);
  std::vector<std::string> args{std::string(SERIALAKE_SOURCE_DIR) + "/tests/search/brute_force.py",
                                dir + "/data.f32", std::to_string(v.size() / d), std::to_string(d),
                                dir + "/q.f32", std::to_string(q.size() / d), to_string(m)};
  args.insert(args.end(), filter.begin(), filter.end());
  auto r = run_program("/usr/bin/python3", args);
  REQUIRE(r.status == 0);
  std::vector<std::vector<double>> out;
  for (const auto& line : lines_of(r.out)) {
    std::istringstream in(line);
    std::vector<double> row;
    for (std::string t; in >> t;) row.push_back(std::stod(t));
    out.push_back(row);
  }
  REQUIRE(out.size() == q.size() / d);
  return out;
}

// Checks one query's hits against NumPy's scores: k of them (or all rows that
// pass), distinct, each score within 1e-5 of NumPy's for that row, best first,
// and no row left out that NumPy ranks better than the worst returned by more
// than 1e-5 (so the index set equals NumPy's top-k up to exact near-ties).
void check_against(const std::vector<hit>& hits, const std::vector<double>& ref, size_t k, metric m) {
  const double sign = m == metric::l2 ? -1 : 1;  // higher is better
  std::vector<double> passing;
  for (double s : ref)
    if (!std::isnan(s)) passing.push_back(sign * s);
  std::sort(passing.rbegin(), passing.rend());
  REQUIRE(hits.size() == std::min(k, passing.size()));
  const double kth = passing[hits.size() - 1];
  std::set<uint64_t> seen;
  for (size_t i = 0; i < hits.size(); ++i) {
    const hit& h = hits[i];
    REQUIRE(h.index < ref.size());
    REQUIRE_FALSE(std::isnan(ref[h.index]));  // filtered rows never come back
    CHECK(std::abs(h.score - ref[h.index]) <= 1e-5);
    CHECK(sign * ref[h.index] >= kth - 1e-5);
    CHECK(seen.insert(h.index).second);
    if (i) CHECK(sign * hits[i - 1].score >= sign * h.score);
  }
}

}  // namespace

// Kills: a wrong kernel (tile edges, tails of d not a multiple of 8), a wrong
// metric formula, a heap that drops a better row, a scan that skips chunks.
TEST_CASE("exact top-k equals NumPy's brute force for cos, l2 and ip", "[search]") {
  const size_t d = 37, n = 3001, k = 25;  // d and n leave tails on every tile
  auto v = clustered(n, d, 40, 7);
  embedding_store es(v, d, {0, 1, 2});
  auto q = clustered(9, d, 40, 8);
  auto snap = es.st->snapshot();
  for (metric m : {metric::cos, metric::l2, metric::ip}) {
    INFO("metric " << to_string(m));
    auto ref = numpy_scores(es.dir.path(), v, d, q, m);
    for (unsigned threads : {1u, 2u}) {
      search_options o;
      o.k = k;
      o.metric = m;
      o.threads = threads;
      auto hits = search(*snap, "emb", query_batch{q.data(), 9, d}, o);
      REQUIRE(hits.size() == 9);
      for (size_t i = 0; i < hits.size(); ++i) check_against(hits[i], ref[i], k, m);
    }
  }
}

// Kills: a filter ignored, a mask shifted by the range's start, rows past the
// label tensor's length let through.
TEST_CASE("a row range and a label filter return only matching rows, as NumPy finds them", "[search]") {
  const size_t d = 16, n = 2000, k = 50;
  auto v = clustered(n, d, 10, 11);
  std::vector<int64_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = int64_t(i % 7);
  embedding_store es(v, d, labels);
  auto q = clustered(4, d, 10, 12);
  write_file(es.dir.path() + "/labels.i64", labels.data(), labels.size() * 8);
  auto ref = numpy_scores(es.dir.path(), v, d, q, metric::cos,
                          {es.dir.path() + "/labels.i64", "300", "1700", "2", "5"});
  search_options o;
  o.k = k;
  o.filter.rows = std::make_pair(uint64_t{300}, uint64_t{1700});
  o.filter.tensor = "label";
  o.filter.values = {5, 2};
  auto hits = search(*es.st->snapshot(), "emb", query_batch{q.data(), 4, d}, o);
  for (size_t i = 0; i < hits.size(); ++i) check_against(hits[i], ref[i], k, metric::cos);
}

// Kills: ties ordered by arrival (threads, blocks) or by descending index, and
// a merge that keeps a later row over an equal earlier one.
TEST_CASE("equal scores are ordered by row index, for any thread count", "[search]") {
  const size_t d = 8, n = 500;
  std::vector<float> v(n * d, 0.5f);
  // Rows 450, 7, 300 and 123 hold the best vector, so they tie for first.
  for (size_t row : {450, 7, 300, 123}) v[row * d] = 3;
  embedding_store es(v, d, {0});
  auto snap = es.st->snapshot();
  std::vector<float> q(d, 1.0f);
  for (metric m : {metric::cos, metric::l2, metric::ip})
    for (unsigned threads : {1u, 2u, 3u}) {
      search_options o;
      o.k = 7;
      o.metric = m;
      o.threads = threads;
      auto h = search(*snap, "emb", {q}, o)[0];
      std::vector<uint64_t> idx;
      for (auto& x : h) idx.push_back(x.index);
      INFO(to_string(m) << ", " << threads << " threads");
      if (m == metric::ip)  // the four rows with a 3 lead, then the all-0.5 ones
        CHECK(idx == std::vector<uint64_t>{7, 123, 300, 450, 0, 1, 2});
      else  // cos and l2 prefer the all-0.5 rows, which all tie
        CHECK(idx == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6});
    }
}

TEST_CASE("bad queries fail with a clear error, never a crash", "[search]") {
  auto v = clustered(100, 8, 4, 3);
  embedding_store es(v, 8, {0, 1});
  es.st->create_tensor({"text", dtype::text, "text", std::nullopt});
  es.st->create_tensor({"f64", dtype::float64, "embedding", shape_t{8}});
  es.st->create_tensor({"ragged", dtype::float32, "embedding", std::nullopt});
  es.st->create_tensor({"score", dtype::float32, "generic", shape_t{}});
  auto snap = es.st->snapshot();
  std::vector<float> good(8, 1.0f);
  auto run = [&](std::vector<float> q, search_options o = {}, std::string t = "emb") {
    return [=, &snap] { search(*snap, t, {q}, o); };
  };
  search_options k0, k1001, threads0, float_filter, reversed, past;
  k0.k = 0;
  k1001.k = max_k + 1;
  threads0.threads = 0;
  float_filter.filter.tensor = "emb";
  reversed.filter.rows = std::make_pair(uint64_t{50}, uint64_t{10});
  past.filter.rows = std::make_pair(uint64_t{0}, uint64_t{101});
  std::string msg;
  CHECK(expect_code(errc::invalid_argument, run(std::vector<float>(7, 1.0f)), &msg));
  CHECK(msg.find("dimension 7") != std::string::npos);
  std::vector<float> nan = good;
  nan[3] = std::nanf("");
  CHECK(expect_code(errc::invalid_argument, run(nan), &msg));
  CHECK(msg.find("NaN at element 3") != std::string::npos);
  std::vector<float> inf = good;
  inf[0] = INFINITY;
  CHECK(expect_code(errc::invalid_argument, run(inf)));
  CHECK(expect_code(errc::invalid_argument, run(std::vector<float>(8, 0.0f))));  // zero query, cos
  CHECK(expect_code(errc::invalid_argument, run(good, k0), &msg));
  CHECK(msg.find("k is 0") != std::string::npos);
  CHECK(expect_code(errc::invalid_argument, run(good, k1001)));
  CHECK(expect_code(errc::invalid_argument, run(good, threads0)));
  CHECK(expect_code(errc::invalid_argument, run(good, reversed)));
  CHECK(expect_code(errc::invalid_argument, run(good, past)));
  CHECK(expect_code(errc::schema_mismatch, run(good, {}, "label"), &msg));
  CHECK(msg.find("'label' is not an embedding") != std::string::npos);
  CHECK(expect_code(errc::schema_mismatch, run(good, {}, "text")));
  CHECK(expect_code(errc::schema_mismatch, run(good, {}, "f64")));
  CHECK(expect_code(errc::schema_mismatch, run(good, {}, "ragged")));
  CHECK(expect_code(errc::schema_mismatch, run(std::vector<float>(1, 1.0f), {}, "score")));
  CHECK(expect_code(errc::schema_mismatch, run(good, float_filter)));
  CHECK(expect_code(errc::not_found, run(good, {}, "nope")));
  CHECK(expect_code(errc::invalid_argument, [] { parse_metric("cosine"); }));
  // A k above the row count returns every row (with an l2 query of zeros: allowed).
  search_options all;
  all.k = max_k;
  all.metric = metric::l2;
  CHECK(search(*snap, "emb", {std::vector<float>(8, 0.0f)}, all)[0].size() == 100);
}

// The portable kernel and the AVX2 one must agree; on a CPU without AVX2 both
// calls run the portable one. Kills: a tile or tail bug in either path.
TEST_CASE("dot_block and squared_norms match a plain loop for every tile shape", "[search]") {
  for (size_t d : {1, 7, 8, 9, 33}) {
    auto q = clustered(6, d, 3, 1), v = clustered(11, d, 3, 2);
    std::vector<float> out(6 * 11);
    search_detail::dot_block(q.data(), 6, v.data(), 11, d, out.data(), 11);
    for (size_t i = 0; i < 6; ++i)
      for (size_t j = 0; j < 11; ++j) {
        double s = 0;
        for (size_t t = 0; t < d; ++t) s += double(q[i * d + t]) * v[j * d + t];
        CHECK(std::abs(out[i * 11 + j] - s) < 1e-5);
      }
    std::vector<float> norms(11);
    search_detail::squared_norms(v.data(), 11, d, norms.data());  // 4-row groups and a remainder
    for (size_t j = 0; j < 11; ++j) {
      double s = 0;
      for (size_t t = 0; t < d; ++t) s += double(v[j * d + t]) * v[j * d + t];
      CHECK(std::abs(norms[j] - s) < 1e-5);
    }
  }
}
