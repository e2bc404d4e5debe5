// Power loss: the page cache is lost, so only what was synced survives
// (tests/core/power_loss.hpp). A workload is crashed after each of its crash
// points in turn (each sync, rename and new file); every time, the dataset must
// show a commit that was acknowledged (or the one whose syncs all finished as
// the power went), whole, with verify clean and no damage.
//
// Kills (each checked by disabling it once): dropping the sync of sealed
// chunks or of the tensor directory in write_chunked (store_commit.cpp), the
// sync of the log, the directory syncs of create (store.cpp), and the temp
// file's sync in write_file_atomic (the image that keeps names catches that).

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "serialake/error.hpp"
#include "core/store.hpp"
#include "tests/core/power_loss.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::power_loss;
using serialake::test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string payload(char tensor, uint64_t i) {
  return std::string(1, tensor) + std::to_string(i) + std::string(i % 37, char('a' + i % 26));
}

// What a returned call left acknowledged.
struct state {
  uint64_t version = 0;
  uint64_t nx = 0, ny = 0;
  bool has_y = false;
};

struct ack {
  uint64_t points;  // crash points seen when the call returned
  state s;
};

// create; create_tensor; durable small commits (inline in the log); a larger
// commit that seals chunks and starts new chunk files; a buffered stretch of
// appends that reach the chunk files before one commit; appends never
// committed; a clean close.
std::vector<ack> workload(const std::string& path, const power_loss& pl) {
  std::vector<ack> acks;
  state st, pending;
  auto acked = [&] { acks.push_back(ack{pl.seen().total(), st}); };
  store_options o;
  o.chunk_bytes = 512;
  o.write_buffer_bytes = 128;
  auto s = store::create(path, o, {{"x", dtype::bytes, "generic", {}}});
  acked();
  s->create_tensor({"y", dtype::bytes, "generic", {}});
  st.has_y = true;
  pending = st;
  acked();
  auto append = [&](char t, int n) {
    for (int i = 0; i < n; ++i) {
      uint64_t& at = t == 'x' ? pending.nx : pending.ny;
      s->append(std::string(1, t), sample::of_bytes(payload(t, at++)));
    }
  };
  auto commit = [&] {
    s->commit();
    pending.version++;
    st = pending;
    acked();
  };
  for (int c = 0; c < 3; ++c) {  // durable appends, one small commit each
    append('x', 1);
    append('y', 1);
    commit();
  }
  append('x', 30);  // ~1 KiB: two chunks of 512 bytes sealed, a third started
  append('y', 2);
  commit();
  append('x', 3);  // the open chunk grows, no new file
  commit();
  append('x', 40);  // buffered: flushed to chunks as buffers fill, one commit
  append('y', 40);
  commit();
  append('x', 20);  // never committed
  s->close();
  return acks;
}

void check_crashed(const std::string& ds, const std::vector<ack>& acks, uint64_t k,
                   const std::map<uint64_t, state>& by_version) {
  const ack* last = nullptr;
  for (auto& a : acks)
    if (a.points <= k) last = &a;
  if (!last && !fs::exists(ds + "/dataset.json")) return;  // create had not returned
  auto check = [&] {
    auto r = store::open(ds, {true, {}, {}, {}});
    CHECK_FALSE(r->damage());
    const uint64_t v = r->version();
    const uint64_t acked = last ? last->s.version : 0;
    // The next commit may be there too, whole: all its syncs were done.
    REQUIRE((v == acked || v == acked + 1));
    const state& want = by_version.at(v);
    auto snap = r->snapshot();
    REQUIRE(snap->length("x") == want.nx);
    for (uint64_t i = 0; i < want.nx; ++i) REQUIRE(snap->read("x", i).data == payload('x', i));
    bool has_y = false;
    for (auto& t : r->tensors()) has_y |= t.name == "y";
    if (last && last->s.has_y) REQUIRE(has_y);
    if (has_y) {
      REQUIRE(snap->length("y") == want.ny);
      for (uint64_t i = 0; i < want.ny; ++i) REQUIRE(snap->read("y", i).data == payload('y', i));
    }
    CHECK(r->verify().empty());
    return v;
  };
  const uint64_t v = check();
  { auto w = store::open(ds); }  // recovery as a writer: cuts, cleans, closes
  CHECK(check() == v);
}

}  // namespace

TEST_CASE("after a power loss at every crash point, an acknowledged commit is there, whole") {
  // A first run counts the crash points and what each call acknowledged.
  std::vector<ack> reference;
  power_loss::counts total;
  {
    temp_dir d;
    power_loss pl(d.path());
    reference = workload(d / "ds", pl);
    total = pl.seen();
  }
  std::map<uint64_t, state> by_version;
  for (auto& a : reference) by_version[a.s.version] = a.s;
  REQUIRE(by_version.size() == 7);  // versions 0..6
  // Syncs happen in parallel rounds, so their order within a round varies
  // between runs; every order is one a real crash could leave.
  for (uint64_t k = 1; k <= total.total(); ++k) {
    INFO("crash after point " << k << " of " << total.total());
    temp_dir d, images;
    std::vector<ack> acks;
    {
      power_loss pl(d.path());
      pl.crash_after(k, images / "synced", images / "names");
      acks = workload(d / "ds", pl);
      REQUIRE(pl.crashed());
      REQUIRE(pl.seen().total() == total.total());
    }
    {
      INFO("only synced names kept");
      check_crashed(images / "synced/ds", acks, k, by_version);
    }
    {
      INFO("every name kept, unsynced data lost");
      check_crashed(images / "names/ds", acks, k, by_version);
    }
  }
  // Figures for docs/reliability.md.
  WARN("power losses simulated: " << 2 * total.total() << " (" << total.total()
       << " crash points x 2 images): " << total.file_syncs << " file syncs, " << total.dir_syncs
       << " directory syncs, " << total.renames << " renames, " << total.new_files
       << " new files or directories; syncs of:" << total.sync_list());
}

TEST_CASE("a power loss right after an acknowledged commit keeps it") {
  // The sharpest point, named: the commit returned, nothing was synced after.
  // Kills: a commit that returns before its chunks or new names are durable.
  temp_dir d, images;
  std::vector<ack> acks;
  {
    power_loss pl(d.path());
    acks = workload(d / "ds", pl);
  }
  for (size_t i = 0; i < acks.size(); ++i) {
    temp_dir run, img;
    power_loss pl(run.path());
    pl.crash_after(acks[i].points, img / "synced", img / "names");
    auto again = workload(run / "ds", pl);
    REQUIRE(pl.crashed());
    auto r = store::open(img / "synced/ds", {true, {}, {}, {}});
    CHECK(r->version() == again[i].s.version);
    CHECK(r->snapshot()->length("x") == again[i].s.nx);
  }
}
