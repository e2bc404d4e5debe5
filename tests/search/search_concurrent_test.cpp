// Searches from snapshots while another thread appends and commits.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "serialake/dataset.hpp"
#include "serialake/indexer.hpp"
#include "serialake/search.hpp"
#include "tests/search/search_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

// Commit c holds `per` rows, all equal to the vector (c+1, ..., c+1), so for
// the query (1, ..., 1) under ip the newest commit's rows score highest, and a
// row's commit is its index / per. A search that read rows past its snapshot
// (a commit in progress, or a later one) would return a partial commit or rows
// the snapshot does not have. Kills: search using the live length or a scan
// that outruns the snapshot's index.
TEST_CASE("a search during concurrent appends sees whole commits only", "[search]") {
  temp_dir dir;
  engine eng;
  const size_t d = 16, per = 50, commits = 60;
  auto ds = embedding_dataset(eng, dir, d);
  std::atomic<bool> done{false};
  std::thread writer = commit_writer(ds, commits, per, d, done);
  search_options o = whole_commit_search(per);
  o.threads = 2;
  size_t searches = 0, nonempty = 0;
  const std::vector<std::vector<float>> q{std::vector<float>(d, 1.0f)};
  while (!done || searches == 0) {
    auto snap = ds.snapshot();
    const uint64_t n = snap->length("emb");
    REQUIRE(n % per == 0);  // a snapshot itself holds whole commits
    auto hits = search(*snap, "emb", q, o)[0];
    ++searches;
    REQUIRE(hits.size() == std::min<uint64_t>(n, o.k));
    if (n == 0) continue;
    ++nonempty;
    const uint64_t newest = n / per - 1;
    for (size_t i = 0; i < hits.size(); ++i) {
      REQUIRE(hits[i].index < n);
      // The first `per` hits are exactly the newest commit's rows, in index
      // order; the next ones the commit before it.
      REQUIRE(hits[i].index == whole_commit_hit(i, newest, per));
      REQUIRE(hits[i].score == float(d * (hits[i].index / per + 1)));
    }
  }
  writer.join();
  auto final_hits = search(*ds.snapshot(), "emb", q, o)[0];
  CHECK(final_hits.front().index == (commits - 1) * per);
  INFO(searches << " searches, " << nonempty << " of them on data");
  CHECK(nonempty > 0);
}

// Kills: an indexer that misses commits (it would never reach every row), or
// that indexes rows of a commit twice or out of place (the search below would
// return wrong rows for the last commit's vector).
TEST_CASE("the indexer follows commits until the index holds every row", "[search][index]") {
  temp_dir dir;
  engine eng;
  const size_t d = 8, per = 40, commits = 25;
  auto ds = embedding_dataset(eng, dir, d);
  auto vec = [&](size_t c, size_t i) {
    std::vector<float> x(d, 0.0f);
    x[c % d] = 1.0f + float(c);
    x[(c + 1) % d] = float(i) / per;
    return x;
  };
  index_options io;
  io.metric = metric::l2;
  indexer ix(ds, "emb", io);
  for (size_t c = 0; c < commits; ++c) {
    std::vector<sample> batch;
    for (size_t i = 0; i < per; ++i) batch.push_back(sample::of(dtype::float32, vec(c, i), {d}));
    ds.append_batch("emb", std::move(batch));
    ds.flush();
  }
  REQUIRE(ix.wait_for_rows(per * commits, std::chrono::seconds(60)));
  auto snap = ds.snapshot();
  CHECK(find_index(*snap, "emb")->rows == per * commits);
  search_options o;
  o.metric = metric::l2;
  o.k = 1;
  for (size_t c : {size_t{0}, commits / 2, commits - 1}) {
    auto h = search(*snap, "emb", {vec(c, 7)}, o)[0];
    REQUIRE(h.size() == 1);
    CHECK(h[0].index == c * per + 7);
    CHECK(h[0].score == 0.0f);
  }
}
