// Group commit: "one fsync round per batch". A small commit syncs commits.log
// alone; a larger one syncs exactly the chunk files it wrote, the directories
// it created files in, and the log, all at once (one sync per thread of the
// sync group) after its last write.
//
// Kills: a commit that syncs a sealed chunk or a directory in a round of its
// own, or syncs files it did not touch, or writes after its first sync (the
// record after the data's sync: two rounds); a small commit that syncs more
// than the log.

#include <catch2/catch.hpp>

#include <fcntl.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/file_io.hpp"
#include "core/store.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

struct event {
  io::op kind;
  std::string path;
  int flags;
  std::thread::id thread;
};

// The file-layer calls made during one batch (appends and their commit).
class batch_recorder {
 public:
  batch_recorder()
    : guard_([this](const io::call& c) {
        std::lock_guard<std::mutex> g(mtx_);
        events_.push_back(event{c.kind, c.path, c.flags, std::this_thread::get_id()});
        return io::fault{};
      }) {}

  std::vector<event> events() const {
    std::lock_guard<std::mutex> g(mtx_);
    return events_;
  }

 private:
  mutable std::mutex mtx_;
  std::vector<event> events_;
  io::fault_guard guard_;
};

bool is_chunk(const std::string& p) { return p.size() > 4 && p.compare(p.size() - 4, 4, ".chk") == 0; }

// Checks the batch's syncs are one round of exactly what it touched; returns
// how many files it synced.
size_t check_one_round(const std::vector<event>& ev, const std::string& log) {
  std::multiset<std::string> synced;
  std::set<std::string> written{log}, want;
  std::set<std::thread::id> threads;
  size_t last_write = 0, first_sync = ev.size();
  for (size_t i = 0; i < ev.size(); ++i) {
    const event& e = ev[i];
    if (e.kind == io::op::write) {
      last_write = i;
      written.insert(e.path);
    } else if (e.kind == io::op::sync) {
      first_sync = std::min(first_sync, i);
      synced.insert(e.path);
      threads.insert(e.thread);
    } else if (e.kind == io::op::open && (e.flags & O_CREAT) && is_chunk(e.path)) {
      want.insert(io::parent_dir(e.path));  // a new name: its directory too
    }
  }
  want.insert(written.begin(), written.end());
  CHECK(last_write < first_sync);  // every byte written before the round starts
  CHECK(std::set<std::string>(synced.begin(), synced.end()) == want);
  CHECK(synced.size() == want.size());  // each once
  CHECK(threads.size() == synced.size());  // all at once, one per sync-group thread
  return synced.size();
}

std::string bytes(size_t n, char c) { return std::string(n, c); }

}  // namespace

TEST_CASE("a commit is one round of syncs of exactly the files it touched") {
  temp_dir d;
  store_options o;
  o.chunk_bytes = 4096;
  o.write_buffer_bytes = 1024;
  auto s = store::create(d / "ds", o, {{"x", dtype::bytes, "generic", {}}, {"y", dtype::bytes, "generic", {}}});
  const std::string log = d / "ds/commits.log";

  SECTION("a small commit syncs commits.log alone") {
    std::vector<event> ev;
    {
      batch_recorder r;
      s->append("x", sample::of_bytes(bytes(100, 'a')));
      s->append("y", sample::of_bytes(bytes(100, 'b')));
      s->commit();
      ev = r.events();
    }
    std::vector<std::string> syncs, writes;
    for (auto& e : ev) {
      if (e.kind == io::op::sync) syncs.push_back(e.path);
      if (e.kind == io::op::write) writes.push_back(e.path);
    }
    CHECK(syncs == std::vector<std::string>{log});
    CHECK(writes == std::vector<std::string>{log});  // record and samples in one writev
  }

  SECTION("a larger commit syncs its chunks, new files' directories and the log together") {
    std::vector<event> ev;
    {
      batch_recorder r;
      // x: 12000 bytes in chunks rolled past 4 KiB: two sealed (11 samples
      // each) and an open one; y: one new chunk.
      for (int i = 0; i < 30; ++i) s->append("x", sample::of_bytes(bytes(400, 'x')));
      for (int i = 0; i < 5; ++i) s->append("y", sample::of_bytes(bytes(400, 'y')));
      s->commit();
      ev = r.events();
    }
    // 3 chunks of x, 1 of y, their 2 directories, the log.
    CHECK(check_one_round(ev, log) == 7);
    SECTION("appending to the open chunk again: that chunk and the log, no directory") {
      batch_recorder r;
      // More than a write buffer (1 KiB), so not inline; 3200 -> 4400 bytes.
      for (int i = 0; i < 2; ++i) s->append("x", sample::of_bytes(bytes(600, 'z')));
      s->commit();
      CHECK(check_one_round(r.events(), log) == 2);
    }
  }
  CHECK(s->verify().empty());
}
