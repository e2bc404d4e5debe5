// The CLI against the dataset lock: exit 75 while another process writes,
// read-only commands unaffected, --lock-timeout waits, lock / unlock.

#include <catch2/catch.hpp>

#include <future>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;

namespace {

std::string rows(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) out += "{\"n\":" + std::to_string(i) + "}\n";
  return out;
}

std::vector<int64_t> values(const std::string& ds) {
  std::vector<int64_t> out;
  for (auto& l : lines_of(cli({"cat", ds}).out)) out.push_back(nlohmann::json::parse(l)["n"]);
  return out;
}

}  // namespace

TEST_CASE("75: a writer in another process holds the dataset, readers are unaffected") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64"}).status == 0);
  REQUIRE(cli({"append", ds}, rows(0, 2)).status == 0);
  holder h(ds);

  auto second = cli({"append", ds}, rows(100, 1));
  CHECK(second.status == 75);
  CHECK_THAT(second.err, Catch::StartsWith("serialake: dataset ") &&
                             Catch::Contains("is locked by writer pid " + std::to_string(h.p.pid())));
  CHECK(lines_of(second.err).size() == 1);
  CHECK(cli({"commit", ds, "-m", "x"}).status == 75);
  // cat, info, verify, log and export never take the lock.
  CHECK(cli({"cat", ds}).out == rows(0, 2));
  auto info = cli({"info", ds});
  CHECK(info.status == 0);
  CHECK_THAT(info.out, Catch::Contains("lock     writer pid " + std::to_string(h.p.pid())));
  CHECK_THAT(cli({"info", ds, "--json"}).out, Catch::Contains("\"pid\": " + std::to_string(h.p.pid())));
  CHECK(cli({"verify", ds}).status == 0);
  CHECK(cli({"log", ds}).status == 0);
  CHECK(cli({"export", ds, "n", "--npy", dir / "n.npy"}).status == 0);

  auto r = h.p.finish(rows(2, 3));
  CHECK(r.status == 0);
  CHECK_THAT(cli({"info", ds}).out, Catch::Contains("lock     free"));
  CHECK(values(ds) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(cli({"append", ds}, rows(5, 1)).status == 0);
}

TEST_CASE("append with --lock-timeout waits for the holder to finish") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64"}).status == 0);
  holder h(ds);
  cli_process waiter({"append", ds, "--lock-timeout", "30"});
  // Sync point: the waiter says it waits, and for whom.
  REQUIRE(waiter.wait_for_stderr("waiting up to 30 s for the lock of " + ds));
  CHECK(h.p.finish(rows(0, 2)).status == 0);
  auto w = waiter.finish(rows(10, 2));
  INFO(w.err);
  CHECK(w.status == 0);
  CHECK_THAT(w.err, Catch::Contains("held by writer pid " + std::to_string(h.p.pid())));
  CHECK(values(ds) == std::vector<int64_t>{0, 1, 10, 11});
}

TEST_CASE("concurrent append processes with --lock-timeout all succeed, each all-or-nothing") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64"}).status == 0);
  const int procs = 6, per = 50;
  std::vector<std::unique_ptr<cli_process>> ps;
  for (int k = 0; k < procs; ++k)
    ps.push_back(std::make_unique<cli_process>(
        std::vector<std::string>{"append", ds, "--lock-timeout", "30", k % 2 ? "--durable" : "-v"}));
  // Each is fed on its own thread: whichever holds the lock must get its input.
  std::vector<std::future<cli_result>> done;
  for (int k = 0; k < procs; ++k)
    done.push_back(std::async(std::launch::async, [&, k] { return ps[k]->finish(rows(k * 1000, per)); }));
  for (auto& d : done) {
    auto r = d.get();
    INFO(r.err);
    CHECK(r.status == 0);
  }
  auto got = values(ds);
  REQUIRE(got.size() == size_t(procs * per));
  // Every row once, and each process's rows contiguous and in order: one commit each.
  std::set<int64_t> seen(got.begin(), got.end());
  CHECK(seen.size() == got.size());
  for (size_t i = 0; i < got.size(); i += per)
    for (int j = 0; j < per; ++j) CHECK(got[i + j] == got[i] + j);
  CHECK(cli({"verify", ds}).status == 0);
}

TEST_CASE("lock holds writers off until unlock, unlock --force breaks a live writer") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64"}).status == 0);

  auto l = cli({"lock", ds});
  CHECK(l.status == 0);
  CHECK_THAT(l.out, Catch::StartsWith("locked " + ds + " for maintenance"));
  auto blocked = cli({"append", ds}, rows(0, 1));
  CHECK(blocked.status == 75);
  CHECK_THAT(blocked.err, Catch::Contains("maintenance"));
  CHECK(cli({"cat", ds}).status == 0);
  CHECK(cli({"lock", ds}).status == 75);
  auto u = cli({"unlock", ds});
  CHECK(u.status == 0);
  CHECK(cli({"append", ds}, rows(0, 1)).status == 0);
  CHECK(cli({"unlock", ds}).out == "dataset " + ds + " is not locked\n");
  CHECK(cli({"lock", dir / "missing"}).status == 66);

  holder h(ds);
  auto no = cli({"unlock", ds});
  CHECK(no.status == 75);
  CHECK_THAT(no.err, Catch::Contains("--force"));
  auto yes = cli({"unlock", ds, "--force"});
  CHECK(yes.status == 0);
  CHECK_THAT(yes.out, Catch::StartsWith("broke the lock of live writer pid " + std::to_string(h.p.pid())));
  // The broken writer commits nothing and says why (lock_lost: exit 75).
  auto r = h.p.finish(rows(100, 3));
  CHECK(r.status == 75);
  CHECK(values(ds) == std::vector<int64_t>{0});
  CHECK(cli({"append", ds}, rows(1, 1)).status == 0);
}
