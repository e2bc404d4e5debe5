// Power loss under the dataset handle (tests/core/power_loss.hpp): a durable
// dataset keeps every append whose future completed; a buffered one shows
// exactly a commit it made (a flush, or the close), never part of one, and at
// least its last flush. Crashed after each crash point of the workload.
//
// Kills: a durable append acknowledged before its commit's sync; a flush that
// returns before its commit is durable.

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "serialake/dataset.hpp"
#include "core/store.hpp"
#include "tests/core/power_loss.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::power_loss;
using serialake::test::temp_dir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string payload(uint64_t i) { return "s" + std::to_string(i) + std::string(50 + i % 200, 'q'); }

struct acked {
  uint64_t points;   // crash points seen when it was acknowledged
  uint64_t durable;  // appends to `durable` whose futures completed
  uint64_t flushed;  // samples of `buffered` its last flush committed
};

// The samples `buffered` holds after each of its commits (two flushes, the close).
const std::set<uint64_t> buffered_commits{0, 40, 80, 95};

dataset_options options(durability mode) {
  dataset_options o;
  o.create = true;
  o.policy.mode = mode;
  o.policy.commit_interval = 1h;  // buffered: only flush and close commit
  o.tuning.chunk_bytes = 2048;
  o.tuning.write_buffer_bytes = 512;
  return o;
}

std::vector<acked> workload(const std::string& dir, const power_loss& pl) {
  std::vector<acked> acks;
  acked now{0, 0, 0};
  engine eng;
  auto dur = eng.open(dir + "/durable", options(durability::durable));
  auto buf = eng.open(dir + "/buffered", options(durability::buffered));
  dur.create_tensor({"x", dtype::bytes, "generic", {}});
  buf.create_tensor({"x", dtype::bytes, "generic", {}});
  auto ack = [&] {
    now.points = pl.seen().total();
    acks.push_back(now);
  };
  ack();
  for (int i = 0; i < 6; ++i) {
    dur.append("x", sample::of_bytes(payload(now.durable))).get();
    ++now.durable;
    ack();
  }
  for (int f = 0; f < 2; ++f) {
    for (int i = 0; i < 40; ++i) buf.append("x", sample::of_bytes(payload(now.flushed + i)));
    buf.flush();
    now.flushed += 40;
    ack();
  }
  for (int i = 0; i < 15; ++i) buf.append("x", sample::of_bytes(payload(80 + i)));  // the close commits these
  dur.close();
  buf.close();
  return acks;
}

// What the image of one dataset shows: its samples (checked), or nullopt if it
// is not there.
std::optional<uint64_t> samples_in(const std::string& ds) {
  if (!fs::exists(ds + "/dataset.json")) return std::nullopt;
  auto r = store::open(ds, {true, {}, {}, {}});
  CHECK_FALSE(r->damage());
  auto snap = r->snapshot();
  if (r->tensors().empty()) return 0;
  const uint64_t n = snap->length("x");
  for (uint64_t i = 0; i < n; ++i) REQUIRE(snap->read("x", i).data == payload(i));
  CHECK(r->verify().empty());
  return n;
}

void check_image(const std::string& dir, const std::vector<acked>& acks, uint64_t k) {
  const acked* last = nullptr;
  for (auto& a : acks)
    if (a.points <= k) last = &a;
  auto dur = samples_in(dir + "/durable");
  auto buf = samples_in(dir + "/buffered");
  if (!last) return;  // the tensors were not there yet: anything whole will do
  REQUIRE(dur);
  REQUIRE(buf);
  CHECK(*dur >= last->durable);  // every acknowledged durable append
  CHECK(*dur <= 6);
  CHECK(buffered_commits.count(*buf) == 1);  // exactly one of its commits
  CHECK(*buf >= last->flushed);
}

}  // namespace

TEST_CASE("after a power loss at every crash point, acknowledged appends and flushes are there") {
  power_loss::counts first;
  {
    temp_dir d;
    power_loss pl(d.path());
    workload(d.path(), pl);
    first = pl.seen();
  }
  const uint64_t total = first.total();
  uint64_t crashed = 0;
  for (uint64_t k = 1; k <= total; ++k) {
    INFO("crash after point " << k << " of " << total);
    temp_dir d, images;
    std::vector<acked> acks;
    {
      power_loss pl(d.path());
      pl.crash_after(k, images / "synced", images / "names");
      acks = workload(d.path(), pl);
      // Group commit may batch differently from run to run, so a run can have
      // fewer points than the first one.
      if (!pl.crashed()) continue;
    }
    ++crashed;
    check_image(images / "synced", acks, k);
    check_image(images / "names", acks, k);
  }
  CHECK(crashed >= total * 9 / 10);
  WARN("power losses simulated under the handle: " << 2 * crashed << " (" << crashed << " of "
       << total << " crash points x 2 images): " << first.file_syncs << " file syncs, "
       << first.dir_syncs << " directory syncs, " << first.renames << " renames, "
       << first.new_files << " new files or directories; syncs of:" << first.sync_list());
}
