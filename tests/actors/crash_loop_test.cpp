// The crash loop: writer processes (tests/actors/crash_child.cpp) write one
// dataset through the public handle, durable and buffered in turn, and are
// SIGKILLed at seeded moments. After each kill the dataset is opened read-only
// and must hold every acknowledged append with its bytes at its index, nothing
// half-written (row tensors of equal length, every visible sample exactly what
// a child writes at that index), and no commit a reader saw before may vanish.
// Then the next child continues from there.
//
// SERIALAKE_CRASH_KILLS (20) and SERIALAKE_CRASH_SEED (random) set the run;
// scripts/soak [KILLS] [SEED] runs a long one. The seed is printed first, so any
// failure replays with scripts/soak KILLS SEED.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/format.hpp"
#include "core/store.hpp"
#include "tests/actors/crash_content.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
namespace crash = serialake::test::crash;
using serialake::test::child;
using serialake::test::temp_dir;

namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : fallback;
}

// What the children acknowledged, and what the checks have seen so far.
struct model {
  std::map<std::pair<std::string, uint64_t>, uint64_t> acked;  // (tensor, index) -> hash
  std::set<std::string> created;                               // T lines
  std::map<uint64_t, std::string> named;                       // C lines: version -> message
  std::map<std::string, uint64_t> seen;                        // lengths already checked
  uint64_t version_seen = 0;
  uint64_t acks_checked = 0, samples_checked = 0, lost = 0, corrupt = 0;
};

// Takes one line of a child's report into `m`; returns the number of A lines.
int take(model& m, const std::string& line, std::vector<std::pair<std::string, uint64_t>>& fresh) {
  std::istringstream in(line);
  std::string kind;
  in >> kind;
  if (kind == "A") {
    std::string t;
    uint64_t i = 0, h = 0;
    in >> t >> i >> h;
    auto [it, inserted] = m.acked.emplace(std::make_pair(t, i), h);
    // Kills: an index handed out twice (two acknowledged appends, one place).
    INFO(line);
    REQUIRE((inserted || it->second == h));
    fresh.emplace_back(t, i);
    return 1;
  }
  if (kind == "T") {
    std::string t;
    in >> t;
    m.created.insert(t);
  } else if (kind == "C") {
    uint64_t v = 0;
    std::string msg;
    in >> v >> msg;
    m.named[v] = msg;
  } else if (kind == "E") {
    FAIL("the child failed: " << line);
  }
  return 0;
}

bool same(const sample& a, const sample& b) {
  return a.type == b.type && a.shape == b.shape && a.data == b.data;
}

// The checks after a kill (see the top). `fresh`: appends acknowledged since the
// last check, each read back again.
void check(const std::string& path, uint64_t seed, model& m,
           const std::vector<std::pair<std::string, uint64_t>>& fresh) {
  // Killed before its create returned: the dataset is not there yet, and may
  // not be, as nothing was acknowledged (create builds it aside and renames it
  // into place, so it is never there half-made).
  if (m.created.empty() && !std::filesystem::exists(path + "/" + format::schema_file)) {
    REQUIRE(m.acked.empty());
    return;
  }
  auto s = store::open(path, {true, {}, {}, {}});
  // Kills: recovery that calls a torn tail damage, or a commit written in two steps.
  REQUIRE_FALSE(s->damage());
  auto problems = s->verify();
  for (auto& p : problems) UNSCOPED_INFO(p.tensor << " " << p.index << " " << p.file << ": " << p.message);
  REQUIRE(problems.empty());
  auto snap = s->snapshot();
  // Kills: a crash that loses a commit a reader has already seen.
  REQUIRE(snap->version() >= m.version_seen);
  m.version_seen = snap->version();

  // A row is all or nothing: every row tensor has the same length at the commit.
  // Kills: a row applied or committed tensor by tensor.
  std::optional<uint64_t> rows;
  for (auto& t : crash::row_tensors()) {
    if (!snap->has_tensor(t)) continue;
    if (!rows) rows = snap->length(t);
    INFO("row tensor " << t);
    REQUIRE(snap->length(t) == *rows);
  }
  // Every visible sample is what a child writes at that index: nothing torn,
  // nothing applied twice (a duplicate lands at the next index, whose content
  // differs), nothing out of order. Each sample is read once, when first seen.
  for (auto& spec : snap->tensors()) {
    const std::string& name = spec.name;
    const uint64_t length = snap->length(name);
    uint64_t& seen = m.seen[name];
    INFO("tensor " << name);
    REQUIRE(length >= seen);
    for (uint64_t i = seen; i < length; ++i) {
      bool ok = same(snap->read(name, i), crash::content(seed, name, i));
      if (!ok) UNSCOPED_INFO("tensor " << name << " index " << i << " differs from what was written");
      m.corrupt += !ok;
      ++m.samples_checked;
    }
    seen = length;
  }
  // Every acknowledged append is there, with its bytes, at its index.
  // Kills: a durable future completed before its sync, a buffered flush that
  // returns before its commit is on disk, a recovery that cuts a synced commit.
  for (auto& [t, i] : fresh) {
    uint64_t want = m.acked.at({t, i});
    bool ok = snap->has_tensor(t) && i < snap->length(t) &&
              crash::content_hash(snap->read(t, i)) == want;
    if (!ok) UNSCOPED_INFO("acknowledged " << t << " " << i << " is lost or differs");
    m.lost += !ok;
    ++m.acks_checked;
  }
  auto specs = s->tensors();
  for (auto& t : m.created) {
    bool ok = false;
    for (auto& spec : specs) ok |= spec.name == t;
    INFO("created tensor " << t);
    CHECK(ok);
    m.lost += !ok;
  }
  std::map<uint64_t, std::string> logged;
  for (auto& c : s->log()) logged[c.version] = c.message;
  for (auto& [v, msg] : m.named) {
    INFO("named commit " << v << " " << msg);
    CHECK(logged[v] == msg);
    m.lost += logged[v] != msg;
  }
  REQUIRE(m.lost == 0);
  REQUIRE(m.corrupt == 0);
}

}  // namespace

TEST_CASE("crash loop: SIGKILLed writers lose no acknowledged append and leave nothing half-written") {
  const uint64_t kills = env_or("SERIALAKE_CRASH_KILLS", 20);
  const uint64_t seed = env_or("SERIALAKE_CRASH_SEED", std::random_device{}());
  std::printf("crash loop: seed %" PRIu64 ", %" PRIu64 " kills (replay: scripts/soak %" PRIu64 " %" PRIu64 ")\n",
              seed, kills, kills, seed);
  std::fflush(stdout);
  INFO("crash loop seed " << seed);
  temp_dir d;
  const std::string path = d / "ds";
  std::mt19937_64 rng(seed);
  model m;
  const auto line_timeout = std::chrono::seconds(20);
  for (uint64_t k = 0; k < kills; ++k) {
    const uint64_t child_seed = crash::mix(seed + k);
    const char* mode = k % 2 ? "buffered" : "durable";
    // Where it dies: 1 in 10 at once (inside exec, engine start, recovery),
    // else after a seeded number of acknowledged samples (0: right after open).
    const bool at_once = rng() % 10 == 0;
    const uint64_t target = rng() % 3 == 0 ? rng() % 8 : rng() % 800;
    INFO("kill " << k << " child seed " << child_seed << " " << mode);
    std::vector<std::pair<std::string, uint64_t>> fresh;
    uint64_t acks = 0;
    {
      child c({SERIALAKE_CRASH_CHILD, path, std::to_string(seed), std::to_string(child_seed), mode});
      if (!at_once) {
        bool opened = false;
        while (!opened || acks < target) {
          auto start = std::chrono::steady_clock::now();
          std::string l = c.line(line_timeout);
          if (l.empty()) {
            bool hung = std::chrono::steady_clock::now() - start >= line_timeout;
            c.kill();
            FAIL((hung ? "the child hung" : "the child exited") << " (status " << c.wait() << ")");
          }
          opened |= l[0] == 'S';
          acks += take(m, l, fresh);
        }
      }
      c.kill();
      int st = c.wait();
      REQUIRE(WIFSIGNALED(st));
      // What it reported before the signal landed is acknowledged too; a line
      // is one write(), so only whole lines are there.
      std::string rest = c.rest();
      std::istringstream in(rest);
      for (std::string l; std::getline(in, l);) acks += take(m, l, fresh);
    }
    check(path, seed, m, fresh);
    std::printf("kill %" PRIu64 "/%" PRIu64 ": child seed %" PRIu64 " %s, %" PRIu64
                " acknowledged, version %" PRIu64 ", rows %" PRIu64 "\n",
                k + 1, kills, child_seed, mode, acks, m.version_seen, m.seen["label"]);
    std::fflush(stdout);
  }
  // A writer's open (recovery, clean-up of the dead sessions' chunks) keeps it all.
  store::open(path)->close();
  check(path, seed, m, {});
  std::printf("crash loop: seed %" PRIu64 ": %" PRIu64 " kills survived, %" PRIu64
              " acknowledged appends checked, %" PRIu64 " samples checked, lost %" PRIu64
              ", corrupt %" PRIu64 "\n",
              seed, kills, m.acks_checked, m.samples_checked, m.lost, m.corrupt);
  CHECK(m.acks_checked > 0);
}
