// Durability across a real crash: a child process appends in durable mode and
// reports each completed append; it is SIGKILLed at a random moment; every
// reported append must be in the dataset with its bytes.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "core/store.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

std::string payload(int t, int i) {
  return "t" + std::to_string(t) + "/" + std::to_string(i) + std::string(i % 300, char('a' + t));
}

// The whole lines it printed before it died.
std::vector<std::string> lines_after_kill(serialake::test::child& c) {
  std::vector<std::string> out;
  std::istringstream in(c.rest());
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("durable appends reported before a SIGKILL survive it") {
  // SERIALAKE_SEED replays a failure; the seed is in the report of any failure.
  const char* env = std::getenv("SERIALAKE_SEED");
  const uint32_t seed = env ? static_cast<uint32_t>(std::stoul(env)) : std::random_device{}();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    temp_dir d;
    auto path = d / "ds";
    serialake::test::child writer({SERIALAKE_DURABLE_WRITER, path, "4"});
    // The random moment is a random amount of progress: kill it after it has
    // acknowledged this many appends (a sync point, not a sleep).
    const size_t kill_after = 20 + rng() % 400;
    std::vector<std::string> acked;
    while (acked.size() < kill_after) {
      std::string l = writer.line();
      REQUIRE_FALSE(l.empty());  // bounded: a silent writer fails the test
      acked.push_back(l);
    }
    writer.kill();
    REQUIRE(WIFSIGNALED(writer.wait()));
    for (auto& l : lines_after_kill(writer)) acked.push_back(l);
    auto s = store::open(path);  // a writer open: recovery runs
    auto snap = s->snapshot();
    for (auto& l : acked) {
      std::istringstream in(l);
      unsigned long long idx;
      int t, i;
      REQUIRE(in >> idx >> t >> i);
      REQUIRE(idx < snap->length("x"));
      REQUIRE(snap->read("x", idx).data == payload(t, i));
    }
    INFO(acked.size() << " acknowledged, " << snap->length("x") << " recovered");
    CHECK(s->verify().empty());
  }
}
