// The Search call: remote_dataset::search against serialake::search run here
// on the same committed data, and its errors.

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "core/store.hpp"
#include "serialake/remote.hpp"
#include "serialake/search.hpp"
#include "tests/expect_code.hpp"
#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

constexpr size_t dim = 8;

sample vec(const std::vector<float>& v) {
  sample s;
  s.type = dtype::float32;
  s.shape = {v.size()};
  s.data.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  return s;
}

std::vector<float> random_vec(std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<float> v(dim);
  for (auto& x : v) x = n(rng);
  return v;
}

}  // namespace

TEST_CASE("remote: Search answers what serialake::search answers on the same commit") {
  // Kills: a server that searches another tensor, drops the options (k, metric,
  // filters) on the way, or reorders or rescales hits.
  server_process srv;
  const std::string uri = srv.uri("emb/set");
  remote_dataset::create(uri, {{"emb", dtype::float32, "embedding", shape_t{dim}},
                               {"label", dtype::int64, "class_label", shape_t{}}});
  remote_dataset ds(uri);
  std::mt19937 rng(7);
  std::vector<row> rows;
  for (int64_t i = 0; i < 500; ++i)
    rows.push_back({{"emb", vec(random_vec(rng))}, {"label", sample::scalar<int64_t>(dtype::int64, i % 5)}});
  ds.append_rows(std::move(rows)).get();
  ds.flush();
  std::vector<std::vector<float>> queries{random_vec(rng), random_vec(rng), random_vec(rng)};

  open_options ro;
  ro.read_only = true;
  auto snap = store::open(srv.root() / "emb/set", ro)->snapshot();
  auto same = [&](const search_options& o) {
    auto want = search(*snap, "emb", queries, o);
    auto got = ds.search("emb", queries, o);
    REQUIRE(got.size() == want.size());
    for (size_t q = 0; q < want.size(); ++q) {
      REQUIRE(got[q].size() == want[q].size());
      for (size_t i = 0; i < want[q].size(); ++i) {
        CHECK(got[q][i].index == want[q][i].index);
        CHECK(got[q][i].score == want[q][i].score);
      }
    }
  };
  search_options o;
  o.k = 7;
  same(o);
  o.metric = metric::l2;
  o.threads = 3;
  same(o);
  o.metric = metric::ip;
  o.filter.rows = std::make_pair(uint64_t{100}, uint64_t{300});
  same(o);
  o.filter.rows.reset();
  o.filter.tensor = "label";
  o.filter.values = {1, 3};
  same(o);
  auto hits = ds.search("emb", queries, o);
  for (auto& h : hits)
    for (auto& x : h) CHECK((x.index % 5 == 1 || x.index % 5 == 3));
}

TEST_CASE("remote: Search errors carry serialake's codes") {
  // Kills: errors flattened to one code, or a server that crashes on a bad query.
  server_process srv;
  const std::string uri = srv.uri("emb");
  remote_dataset::create(uri, {{"emb", dtype::float32, "embedding", shape_t{dim}}, {"id", dtype::int64, "generic", shape_t{}}});
  remote_dataset ds(uri);
  std::mt19937 rng(1);
  ds.append_row({{"emb", vec(random_vec(rng))}, {"id", sample::scalar<int64_t>(dtype::int64, 1)}}).get();
  ds.flush();
  const std::vector<std::vector<float>> q{random_vec(rng)};
  CHECK(expect_code(errc::not_found, [&] { ds.search("nope", q); }));
  CHECK(expect_code(errc::schema_mismatch, [&] { ds.search("id", {{1.0f}}); }));
  CHECK(expect_code(errc::invalid_argument, [&] { ds.search("emb", {{1.0f, 2.0f}}); }));  // wrong dimension
  search_options o;
  o.k = 0;
  CHECK(expect_code(errc::invalid_argument, [&] { ds.search("emb", q, o); }));
  CHECK(expect_code(errc::not_found, [&] { remote_dataset(srv.uri("none")).search("emb", q); }));
  // The server is still there.
  CHECK(ds.search("emb", q).at(0).at(0).index == 0);
}

TEST_CASE("remote: serialake search on a serialake:// URI prints what it prints for the directory") {
  // Kills: a CLI that ignores the URI (searching nothing, or failing), or
  // options (k, metric) lost on the way to the server.
  server_process srv;
  const std::string uri = srv.uri("cli/emb");
  remote_dataset::create(uri, {{"emb", dtype::float32, "embedding", shape_t{dim}}});
  {
    remote_dataset ds(uri);
    std::mt19937 rng(3);
    std::vector<row> rows;
    for (int i = 0; i < 200; ++i) rows.push_back({{"emb", vec(random_vec(rng))}});
    ds.append_rows(std::move(rows)).get();
    ds.flush();
  }
  const std::string queries = "[1, 0, 0, 0, 0, 0, 0, 1]\n[0.5, -1, 2, 0, 0, 3, 0, 0]\n";
  auto remote = cli({"search", uri, "emb", "--k", "4", "--metric", "l2"}, queries);
  auto local = cli({"search", srv.root() / "cli/emb", "emb", "--k", "4", "--metric", "l2"}, queries);
  INFO(remote.err << local.err);
  REQUIRE(remote.status == 0);
  REQUIRE(local.status == 0);
  CHECK(remote.out == local.out);
  CHECK(std::count(remote.out.begin(), remote.out.end(), '\n') == 2);
  // A bad line fails naming it, as locally.
  auto bad = cli({"search", uri, "emb"}, "[1, 2]\n");
  CHECK(bad.status == 65);
  CHECK(bad.err.find("line 1") != std::string::npos);
}
