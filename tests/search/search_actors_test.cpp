// Search on an open dataset through its actors: the indexer actor never holds
// up appends, and the handle's search runs in parallel with writes and with
// other searches, from whole commits, answering as the snapshot's search does.

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "search/ann_index.hpp"
#include "serialake/handle_search.hpp"
#include "serialake/indexer.hpp"
#include "tests/expect_code.hpp"
#include "tests/search/search_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

using std::chrono::seconds;

bool same_hits(const std::vector<std::vector<hit>>& a, const std::vector<std::vector<hit>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t q = 0; q < a.size(); ++q) {
    if (a[q].size() != b[q].size()) return false;
    for (size_t i = 0; i < a[q].size(); ++i)
      if (a[q][i].index != b[q][i].index || a[q][i].score != b[q][i].score) return false;
  }
  return true;
}

// Runs `fn` on a thread of its own; false if it has not returned within
// `limit` (the thread is then left behind, and the test has failed).
bool returns_within(std::chrono::seconds limit, std::function<void()> fn) {
  auto done = std::make_shared<std::promise<void>>();
  auto returned = done->get_future();
  std::thread([fn = std::move(fn), done] {
    fn();
    done->set_value();
  }).detach();
  return returned.wait_for(limit) == std::future_status::ready;
}

}  // namespace

// The indexer is held inside its first update (the test holds the index's
// update mutex) while 20 commits are appended and flushed. Kills: an indexer
// that updates on the writer's or the notifier's path (the writes would wait
// for the mutex and time out), one that misses the commits made while busy
// (it would never reach every row), and one fed each commit separately instead
// of merged (it would make 20 more updates, not at most 4).
TEST_CASE("appends never wait for a busy indexer, which then catches up with the commits merged",
          "[search][index]") {
  temp_dir dir;
  engine eng;
  const size_t d = 8, per = 30, commits = 20;
  auto ds = embedding_dataset(eng, dir, d);
  ds.append_batch("emb", commit_rows(0, per, d));
  ds.flush();
  index_options io;
  io.metric = metric::l2;
  io.threads = 1;
  create_index(*ds.snapshot(), "emb", io);
  auto idx = search_detail::load_index(*ds.snapshot(), "emb");
  std::unique_lock<std::mutex> hold(idx->update_mutex());
  indexer ix(ds, "emb", io);  // its catch-up at start now waits for `hold`
  auto writes = std::async(std::launch::async, [&] {
    for (size_t c = 1; c <= commits; ++c) {
      ds.append_batch("emb", commit_rows(c, per, d));
      ds.flush();
    }
  });
  const bool written = writes.wait_for(seconds(60)) == std::future_status::ready;
  const uint64_t rows_while_held = find_index(*ds.snapshot(), "emb")->rows;
  const uint64_t updates_while_held = ix.updates();
  hold.unlock();
  REQUIRE(written);
  writes.get();
  CHECK(rows_while_held == per);
  CHECK(updates_while_held == 0);
  REQUIRE(ix.wait_for_rows(per * (commits + 1), seconds(60)));
  // One more commit: the indexer reaches it only after every event queued
  // before it, so its count now shows whether the 20 were merged.
  ds.append_batch("emb", commit_rows(commits + 1, per, d));
  ds.flush();
  REQUIRE(ix.wait_for_rows(per * (commits + 2), seconds(60)));
  CHECK(ix.updates() <= 4);
  CHECK(find_index(*ds.snapshot(), "emb")->rows == per * (commits + 2));
}

// The dataset is closed under a live indexer. Kills: an indexer actor that
// outlives its closed dataset (it must quit when the dataset actor goes), so
// that its handle's destructor would wait for it forever.
TEST_CASE("an indexer whose dataset closed stops, and its destructor returns", "[search][index]") {
  temp_dir dir;
  engine eng;
  auto ds = embedding_dataset(eng, dir, 4);
  ds.append_batch("emb", commit_rows(0, 10, 4));
  ds.flush();
  auto ix = std::make_unique<indexer>(ds, "emb");
  REQUIRE(ix->wait_for_rows(10, seconds(30)));
  ds.close();
  REQUIRE(returns_within(seconds(30), [&] { ix.reset(); }));
}

// Three threads search while a writer appends 40 commits. Kills: a handle's
// search reading past its snapshot (a partial or later commit in the hits), a
// searcher that answers another snapshot than the one given (the comparison
// with search(snapshot) fails), and a version that is not the one searched
// (the pinned reopen below answers differently).
TEST_CASE("the handle's search runs in parallel with writes and answers as the snapshot's search",
          "[search]") {
  temp_dir dir;
  engine eng;
  const size_t d = 16, per = 50, commits = 40;
  auto ds = embedding_dataset(eng, dir, d);
  std::atomic<bool> done{false};
  std::thread writer = commit_writer(ds, commits, per, d, done);
  search_options o = whole_commit_search(per);
  const std::vector<float> q(d, 1.0f);
  const query_batch qb{q.data(), 1, d};
  struct seen {
    search_result last;
    size_t searches = 0;
    std::string failure;  // Catch's assertions are for the test's thread only
  };
  std::vector<seen> by(3);
  std::vector<std::thread> readers;
  for (auto& mine : by)
    readers.emplace_back([&] {
      try {
        while ((!done || mine.searches == 0) && mine.failure.empty()) {
          // The latest commit: whole commits only, newest first.
          search_result r = search(ds, "emb", qb, o).get();
          const auto& h = r.hits.at(0);
          const uint64_t newest = h.empty() ? 0 : h[0].index / per;
          for (size_t i = 0; i < h.size() && mine.failure.empty(); ++i)
            if (h[i].index != whole_commit_hit(i, newest, per))
              mine.failure = "hit " + std::to_string(i) + " is row " + std::to_string(h[i].index) +
                             " at version " + std::to_string(r.version);
          mine.last = r;
          ++mine.searches;
          // A given snapshot: the same answer as searching it directly.
          auto snap = ds.snapshot();
          if (!same_hits(search(ds, snap, "emb", qb, o).get().hits, search(*snap, "emb", qb, o)))
            mine.failure = "the handle's search of version " + std::to_string(snap->version()) +
                           " differs from the snapshot's";
        }
      } catch (const std::exception& e) {
        mine.failure = e.what();
      }
    });
  writer.join();
  for (auto& t : readers) t.join();
  for (auto& mine : by) {
    INFO(mine.searches << " searches");
    CHECK(mine.failure == "");
    CHECK(mine.searches > 0);
    dataset_options pin;
    pin.version = mine.last.version;
    auto pinned = eng.open(ds.path(), pin);
    CHECK(same_hits(mine.last.hits, search(*pinned.snapshot(), "emb", qb, o)));
  }
}

// Kills: errors lost on the searcher's thread (the future would hang or hold
// hits), and a search on a closed dataset touching a gone actor.
TEST_CASE("the handle's search fails through its future with the search's error", "[search]") {
  temp_dir dir;
  engine eng;
  auto ds = embedding_dataset(eng, dir, 4);
  ds.append_batch("emb", commit_rows(0, 3, 4));
  ds.flush();
  const std::vector<float> q(3, 1.0f);
  CHECK(expect_code(errc::invalid_argument, [&] { search(ds, "emb", {q.data(), 1, 3}).get(); }));
  CHECK(expect_code(errc::not_found, [&] { search(ds, "nope", {q.data(), 1, 3}).get(); }));
  auto snap = ds.snapshot();
  ds.close();
  CHECK(expect_code(errc::closed, [&] { search(ds, snap, "emb", {q.data(), 1, 3}); }));
}
