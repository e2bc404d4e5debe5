// Cross-process access: the file lock, tested with real processes.

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <optional>
#include <map>
#include <thread>

#include "serialake/dataset.hpp"
#include "core/file_io.hpp"
#include "core/lock_file.hpp"
#include "core/store.hpp"
#include "tests/process.hpp"
#include "tests/actors/open_code.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using serialake::test::child;
using serialake::test::open_code;
using serialake::test::temp_dir;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// A dataset with the tensors lock_child writes.
std::string make_dataset(const temp_dir& d) {
  auto path = d / "ds";
  auto s = store::create(path);
  s->create_tensor({"w", dtype::int64, "generic", {}});
  s->create_tensor({"s", dtype::text, "text", {}});
  return path;
}

child spawn(std::vector<std::string> args) {
  args.insert(args.begin(), SERIALAKE_LOCK_CHILD);
  return child(std::move(args));
}

void write_lock_file(const std::string& path, const std::string& host, int64_t heartbeat_age_ms) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  std::ofstream(path + "/lock", std::ios::trunc)
      << R"({"state":"held","kind":"writer","host":")" << host << R"(","pid":4242,"since_ms":)"
      << now - 100000 << R"(,"heartbeat_ms":)" << now - heartbeat_age_ms
      << R"(,"generation":5,"token":"feedfacecafebeef"})" << "\n";
}

}  // namespace

TEST_CASE("8 processes x 1000 rows with a lock_timeout: every row once, each process in order") {
  temp_dir d;
  auto path = make_dataset(d);
  std::vector<std::unique_ptr<child>> kids;
  for (int id = 1; id <= 8; ++id)
    kids.push_back(std::make_unique<child>(std::vector<std::string>{SERIALAKE_LOCK_CHILD, "rows", path, std::to_string(id), "1000"}));
  for (auto& k : kids) {
    int st = k->wait();
    INFO(k->rest());
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
  }
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  REQUIRE(snap->length("w") == 8000);
  REQUIRE(snap->length("s") == 8000);
  std::map<int64_t, int64_t> next;  // process id -> next expected row
  for (uint64_t i = 0; i < 8000; ++i) {
    int64_t w = snap->read("w", i).as<int64_t>()[0];
    REQUIRE(snap->read("s", i).data == "row " + std::to_string(w));
    int64_t id = w / 1000000, k = w % 1000000;
    REQUIRE(next[id] == k);
    next[id] = k + 1;
  }
  CHECK(next.size() == 8);
  // Each writer committed under its own, larger generation.
  auto log = s->log(true);
  for (size_t i = 1; i < log.size(); ++i) CHECK(log[i].lock_gen >= log[i - 1].lock_gen);
  CHECK(log.back().lock_gen >= 8);
}

TEST_CASE("lock_timeout 0 fails naming the holder; a timeout waits for a release or gives up") {
  temp_dir d;
  auto path = make_dataset(d);
  engine eng;
  auto holder = spawn({"hold", path});
  REQUIRE(holder.line() == "locked");
  dataset_options o;
  std::string msg;
  CHECK(open_code(eng, path, o, &msg) == errc::locked);
  CHECK_THAT(msg, Catch::Contains("pid " + std::to_string(holder.pid())) &&
                      Catch::Contains(this_host()) && Catch::Contains("since"));
  // Never released: it gives up, and it did wait (on_wait names the holder).
  o.lock_timeout = 300ms;
  std::optional<lock_holder> waited_for;
  o.on_lock_wait = [&](const lock_holder& h) { waited_for = h; };
  CHECK(open_code(eng, path, o) == errc::locked);
  REQUIRE(waited_for);
  CHECK(waited_for->pid == holder.pid());
  auto h = file_lock_backend()->holder(path, {});
  REQUIRE(h);
  CHECK(h->pid == holder.pid());
  CHECK(h->alive);
  // Released while it waits: the waiter gets it. Sync point: on_lock_wait.
  o.lock_timeout = 60000ms;
  std::promise<void> waiting;
  o.on_lock_wait = [&](const lock_holder&) { waiting.set_value(); };
  auto opened = std::async(std::launch::async, [&] { return open_code(eng, path, o); });
  REQUIRE(waiting.get_future().wait_for(30s) == std::future_status::ready);
  holder.send("release\n");
  CHECK(holder.line() == "released");
  REQUIRE(opened.wait_for(30s) == std::future_status::ready);
  CHECK(opened.get() == errc{});
}

TEST_CASE("a SIGKILLed holder's lock is taken at once and its last commit is intact") {
  temp_dir d;
  auto path = make_dataset(d);
  auto writer = spawn({"commits", path});
  std::string last;
  for (int i = 0; i < 50; ++i) last = writer.line();
  REQUIRE(last.rfind("committed ", 0) == 0);
  writer.kill();
  writer.wait();
  for (std::string l; !(l = writer.line(100ms)).empty();) last = l;
  uint64_t reported = std::stoull(last.substr(10));
  engine eng;
  auto ds = eng.open(path, dataset_options{});  // lock_timeout 0: free at once
  auto snap = ds.snapshot();
  // The last reported commit is there; at most one more finished before the kill.
  CHECK(snap->version() >= reported);
  CHECK(snap->version() <= reported + 1);
  REQUIRE(snap->length("w") == snap->length("s"));
  for (uint64_t i = 0; i < snap->length("w"); ++i) REQUIRE(snap->read("w", i).as<int64_t>()[0] == int64_t(i));
  ds.append_row({{"w", sample::scalar<int64_t>(dtype::int64, -1)}, {"s", sample::of_text("after")}});
  CHECK(ds.flush().version == snap->version() + 1);
}

namespace {

// A writer that committed one row and then hung (SIGSTOP) holding its flock,
// whose lock was then broken with `unlock --force`. resume() lets it try its
// next commit and returns what it says.
struct broken_writer {
  child c;
  std::string broke;  // what unlock --force said
  explicit broken_writer(const std::string& path) : c(spawn({"fenced", path})) {
    REQUIRE(c.line() == "ready");
    c.kill(SIGSTOP);
    broke = file_lock_backend()->unlock(path, true, {});
  }
  std::string resume() {
    c.kill(SIGCONT);
    c.send("go\n");
    return c.line();
  }
};

// Waits (bounded) until `pid` is a zombie: the kernel closed its files, flock
// included, and nobody has reaped it yet, as a busy or careless parent would not.
bool wait_zombie(pid_t pid) {
  const std::string stat_path = "/proc/" + std::to_string(pid) + "/stat";
  for (auto deadline = steady::now() + 10s; steady::now() < deadline; std::this_thread::yield()) {
    std::string st;
    std::getline(std::ifstream(stat_path), st);
    auto at = st.rfind(") ");
    if (at != std::string::npos && st.compare(at + 2, 1, "Z") == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a SIGKILLed holder that took over without the flock has lost its lock, even as a zombie") {
  temp_dir d;
  auto path = make_dataset(d);
  broken_writer stopped(path);  // keeps its flock for the whole test
  auto taker = spawn({"hold", path});  // takes over without the flock
  REQUIRE(taker.line() == "locked");
  engine eng;
  CHECK(open_code(eng, path, dataset_options{}) == errc::locked);  // it is alive
  taker.kill();
  REQUIRE(wait_zombie(taker.pid()));
  // Kills: judging a flockless holder by kill(pid, 0) alone (a zombie answers;
  // this then waited for the validity, 10 s, and failed with locked), and
  // treating every holder seen without the flock as alive.
  CHECK(open_code(eng, path, dataset_options{}) == errc{});
  taker.wait();
  CHECK_THAT(stopped.resume(), Catch::StartsWith("error lock_lost"));
}

TEST_CASE("a stale lock from another host is taken over after the validity, a fresh one is not") {
  temp_dir d;
  auto path = make_dataset(d);
  engine eng;
  dataset_options o;
  write_lock_file(path, "other-host.example", 60000);
  CHECK(open_code(eng, path, o) == errc{});
  write_lock_file(path, "other-host.example", 0);
  std::string msg;
  CHECK(open_code(eng, path, o, &msg) == errc::locked);
  CHECK_THAT(msg, Catch::Contains("other-host.example") && Catch::Contains("pid 4242"));
  // With a short validity, waiting outlasts the heartbeat and takes it over.
  write_lock_file(path, "other-host.example", 0);
  o.lock_validity = 300ms;
  o.lock_timeout = 30000ms;
  bool waited = false;
  o.on_lock_wait = [&](const lock_holder& h) { waited = h.host == "other-host.example"; };
  auto ds = eng.open(path, o);
  CHECK(waited);  // it was held (fresh) when the open began
  // The takeover's generation is above the stale holder's.
  ds.append_row({{"w", sample::scalar<int64_t>(dtype::int64, 0)}, {"s", sample::of_text("row 0")}});
  CHECK(ds.flush().lock_gen > 5);
}

TEST_CASE("empty, truncated and garbage lock files are never read as free under a live holder") {
  temp_dir d;
  auto path = make_dataset(d);
  engine eng;
  dataset_options o;
  auto holder = spawn({"hold", path});
  REQUIRE(holder.line() == "locked");
  for (std::string junk : {"", "{\"state\":\"he", "\x01\x02 not json", "{\"state\":\"free\"}"}) {
    std::ofstream(path + "/lock", std::ios::trunc) << junk;
    CHECK(open_code(eng, path, o) == errc::locked);
  }
  holder.kill();
  holder.wait();
  // Without a live holder: an empty file is free; fresh garbage is waited out.
  std::ofstream(path + "/lock", std::ios::trunc);
  CHECK(open_code(eng, path, o) == errc{});
  std::ofstream(path + "/lock", std::ios::trunc) << "garbage";
  CHECK(open_code(eng, path, o) == errc::locked);
  o.lock_validity = 200ms;
  o.lock_timeout = 3000ms;
  CHECK(open_code(eng, path, o) == errc{});
}

TEST_CASE("fencing: a writer whose lock was broken gets lock_lost; the new holder's data is intact") {
  temp_dir d;
  auto path = make_dataset(d);
  auto old = spawn({"fenced", path});
  REQUIRE(old.line() == "ready");
  std::string what;
  CHECK(expect_code(errc::locked, [&] { file_lock_backend()->unlock(path, false, {}); }));  // live: needs force
  what = file_lock_backend()->unlock(path, true, {});
  CHECK_THAT(what, Catch::Contains("broke") && Catch::Contains(std::to_string(old.pid())));
  old.send("go\n");
  std::string outcome = old.line();
  CHECK_THAT(outcome, Catch::StartsWith("error lock_lost"));
  old.wait();
  engine eng;
  dataset_options o;
  o.lock_timeout = 3000ms;
  auto ds = eng.open(path, o);
  ds.append_row({{"w", sample::scalar<int64_t>(dtype::int64, 7)}, {"s", sample::of_text("row 7")}});
  auto c = ds.flush();
  auto snap = ds.snapshot();
  REQUIRE(snap->length("w") == 2);
  CHECK(snap->read("w", 0).as<int64_t>()[0] == 1);  // the old writer's first commit
  CHECK(snap->read("w", 1).as<int64_t>()[0] == 7);
  auto log = ds.log(true);
  CHECK(log.back().lock_gen > log.front().lock_gen);
}

TEST_CASE("unlock --force of a stopped writer lets the next writer in at once; resumed, it commits nothing") {
  temp_dir d;
  auto path = make_dataset(d);
  broken_writer old(path);  // hung: it holds its flock and cannot notice anything
  CHECK_THAT(old.broke, Catch::Contains("broke"));
  // Kills: a takeover that waits for the broken holder's flock (locked, 75).
  engine eng;
  dataset_options o;  // lock_timeout 0: fail at once if still held
  {
    auto ds = eng.open(path, o);
    ds.append_row({{"w", sample::scalar<int64_t>(dtype::int64, 7)}, {"s", sample::of_text("row 7")}});
    ds.flush();
    // While it has the lock, nobody else gets it, though the old writer's flock is still there.
    engine other;
    CHECK(open_code(other, path, o) == errc::locked);
    ds.close();
  }
  CHECK_THAT(old.resume(), Catch::StartsWith("error lock_lost"));
  old.c.wait();
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  REQUIRE(snap->length("w") == 2);
  CHECK(snap->read("w", 0).as<int64_t>()[0] == 1);
  CHECK(snap->read("w", 1).as<int64_t>()[0] == 7);
  CHECK_FALSE(s->damage());
  CHECK(s->verify().empty());
}

TEST_CASE("a writer that took over without the flock frees the lock when it closes") {
  temp_dir d;
  auto path = make_dataset(d);
  broken_writer stopped(path);  // keeps its flock throughout
  auto taker = spawn({"hold", path});
  REQUIRE(taker.line() == "locked");
  taker.send("release\n");
  REQUIRE(taker.line() == "released");
  // Kills: a waiter that, without the flock, takes a released grant for held.
  engine eng;
  CHECK(open_code(eng, path, dataset_options{}) == errc{});
  CHECK_THAT(stopped.resume(), Catch::StartsWith("error lock_lost"));
}

TEST_CASE("a forced unlock while the lock file is unreadable still breaks the live writer") {
  temp_dir d;
  auto path = make_dataset(d);
  auto old = spawn({"fenced", path});
  REQUIRE(old.line() == "ready");
  // The holder is rewriting its lock file (torn for a moment) when the unlock comes.
  std::string grant = serialake::io::read_file(path + "/lock");
  std::ofstream(path + "/lock", std::ios::trunc) << "{\"state\":\"he";
  CHECK_THAT(file_lock_backend()->unlock(path, true, {}), Catch::Contains("broke"));
  std::ofstream(path + "/lock", std::ios::trunc) << grant;  // its write completes
  // Kills: a break of generation 0 that matches no grant (the writer went on).
  old.send("go\n");
  CHECK_THAT(old.line(), Catch::StartsWith("error lock_lost"));
  old.wait();
  CHECK(store::open(path, {true, {}, {}, {}})->snapshot()->length("w") == 1);
}

TEST_CASE("a maintenance lock outlives its taker until unlock") {
  temp_dir d;
  auto path = make_dataset(d);
  auto h = file_lock_backend()->lock(path, {});
  CHECK(h.kind == "maintenance");
  engine eng;
  std::string msg;
  CHECK(open_code(eng, path, {}, &msg) == errc::locked);
  CHECK_THAT(msg, Catch::Contains("maintenance") && Catch::Contains("unlock"));
  // Still held from another process's point of view.
  auto probe = spawn({"hold", path});
  CHECK_THAT(probe.line(), Catch::StartsWith("error locked"));
  CHECK_THAT(file_lock_backend()->unlock(path, false, {}), Catch::Contains("released"));
  CHECK(open_code(eng, path, {}) == errc{});
  CHECK_THAT(file_lock_backend()->unlock(path, false, {}), Catch::Contains("not locked"));
}

TEST_CASE("read-only opens work beside a writer process and see new commits after refresh") {
  temp_dir d;
  auto path = make_dataset(d);
  auto writer = spawn({"commits", path});
  REQUIRE(!writer.line().empty());
  engine eng;
  dataset_options ro;
  ro.read_only = true;
  auto r = eng.open(path, ro);
  uint64_t seen = r.snapshot()->version();
  // Sync points: each "committed V" line the writer prints.
  for (int newer = 0; newer < 3; ++newer) {
    std::string line = writer.line();
    REQUIRE(line.rfind("committed ", 0) == 0);
    uint64_t v = std::stoull(line.substr(10));
    r.refresh();  // false if an earlier refresh already saw version v
    auto snap = r.snapshot();
    CHECK(snap->version() >= v);
    CHECK(snap->version() >= seen);
    seen = snap->version();
    REQUIRE(snap->length("w") == snap->length("s"));
    for (uint64_t k = 0; k < snap->length("w"); ++k) REQUIRE(snap->read("w", k).as<int64_t>()[0] == int64_t(k));
  }
  // The holder's heartbeat (every 100 ms) moves while it writes: wait for it, bounded.
  auto h1 = file_lock_backend()->holder(path, {});
  REQUIRE(h1);
  auto h2 = h1;
  for (auto deadline = steady::now() + 30s; h2 && h2->heartbeat_ms == h1->heartbeat_ms &&
                                            steady::now() < deadline;) {
    writer.line();  // paced by its commits, not by a sleep
    h2 = file_lock_backend()->holder(path, {});
  }
  REQUIRE(h2);
  CHECK(h2->heartbeat_ms > h1->heartbeat_ms);
}
