// Faults of the ZooKeeper lock, each with a server of its own: a holder paused
// past its session, a server paused, a server killed and restarted. In each the
// old holder commits nothing after its lock could have passed on, the dataset
// stays intact, and a new writer proceeds.

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>

#include "serialake/dataset.hpp"
#include "serialake/locks/zookeeper.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/child_rows.hpp"
#include "tests/locks/zookeeper_server.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;

namespace {

// The session timeout follows lock_validity, as a Redis or etcd TTL does.
dataset_options zk_options(const zookeeper_server& zk, std::chrono::milliseconds session) {
  zookeeper_options zo;
  zo.connect_timeout = 10s;  // a JVM just started, on a loaded machine, is slow to its first session
  dataset_options o;
  o.locking = zookeeper_lock_backend(parse_lock_uri(zk.uri("faults")), zo);
  o.lock_validity = session;
  o.lock_heartbeat = 100ms;
  o.lock_timeout = 20s;
  return o;
}

// lock_child's dataset, opened once under the lock: the server's first session
// is made here, within zk_options' generous connect bound.
std::string make_dataset(const temp_dir& t, const zookeeper_server& zk) {
  const std::string dir = make_child_dataset(t);
  engine eng;
  eng.open(dir, zk_options(zk, 1000ms)).close();
  return dir;
}

// The committed values of "w", after checking every sample's hash.
std::vector<int64_t> rows_of(const std::string& dir) {
  engine eng;
  dataset_options o;
  o.read_only = true;
  auto snap = eng.open(dir, o).snapshot();
  CHECK(snap->verify().empty());
  std::vector<int64_t> out;
  for (uint64_t i = 0; i < snap->length("w"); ++i) out.push_back(snap->read("w", i).as<int64_t>().at(0));
  return out;
}

// Commits rows from `next` on until a commit is refused; returns its code.
errc commit_until_refused(dataset& ds, int64_t& next, std::string* msg) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    errc c = code_of([&] {
      ds.append_row(make_row(next));
      ds.flush();
    }, msg);
    if (c != errc{}) return c;
    ++next;
    if (std::chrono::steady_clock::now() > deadline) return errc{};
  }
}

}  // namespace

TEST_CASE("a holder stopped past its session: a new writer takes over, the holder's late commit is refused") {
  zookeeper_server zk;
  temp_dir t;
  const auto dir = make_dataset(t, zk);
  child holder({SERIALAKE_LOCK_CHILD, "fenced", dir, zk.uri("faults"), "1000"});  // session 1 s
  REQUIRE(holder.line() == "ready");  // row 1 committed
  holder.kill(SIGSTOP);
  {
    engine eng;
    auto ds = eng.open(dir, zk_options(zk, 1000ms));  // once the server expired the holder's session
    ds.append_row(make_row(100));
    ds.flush();
    holder.kill(SIGCONT);
    holder.send("\n");
    // Kills: a late commit that is not fenced (it would land after row 100).
    CHECK(holder.line().rfind("error lock_lost", 0) == 0);
    ds.append_row(make_row(101));
    ds.flush();
  }
  CHECK(rows_of(dir) == std::vector<int64_t>{1, 100, 101});
}

TEST_CASE("a server paused past the session timeout: the holder stops committing before the server could expire it") {
  zookeeper_server zk;
  temp_dir t;
  const auto dir = make_dataset(t, zk);
  int64_t next = 1;
  {
    engine eng;
    auto ds = eng.open(dir, zk_options(zk, 2000ms));
    ds.append_row(make_row(next++));
    ds.flush();
    const auto paused = std::chrono::steady_clock::now();
    zk.pause();
    std::string msg;
    // Commits go on (they are local) until the lease runs out, then are refused.
    CHECK(commit_until_refused(ds, next, &msg) == errc::lock_lost);
    // Kills: a check() that trusts the session without a lease (it would commit
    // on, past the server's expiry of the session, into a new holder's time).
    const auto lost_after = std::chrono::steady_clock::now() - paused;
    INFO("refused " << std::chrono::duration_cast<std::chrono::milliseconds>(lost_after).count()
                    << " ms after the pause, after " << next << " commits: " << msg);
    CHECK(lost_after < 2000ms);
    CHECK(msg.find("ZooKeeper") != std::string::npos);
    zk.resume();
    engine eng2;
    auto ds2 = eng2.open(dir, zk_options(zk, 1000ms));  // the new writer proceeds
    ds2.append_row(make_row(1000));
    ds2.flush();
    CHECK(code_of([&] { ds.append_row(make_row(next)); ds.flush(); }) != errc{});
  }
  auto rows = rows_of(dir);
  REQUIRE(rows.size() == static_cast<size_t>(next));  // next - 1 old rows, one new
  CHECK(rows.back() == 1000);
}

TEST_CASE("a server killed and restarted: the holder loses its lock, a new writer proceeds after the restart") {
  zookeeper_server zk;
  temp_dir t;
  const auto dir = make_dataset(t, zk);
  int64_t next = 1;
  {
    engine eng;
    auto ds = eng.open(dir, zk_options(zk, 1000ms));
    ds.append_row(make_row(next++));
    ds.flush();
    zk.stop();
    std::string msg;
    CHECK(commit_until_refused(ds, next, &msg) == errc::lock_lost);
    zk.start();
    engine eng2;
    // The old session, restored by the server, expires a session timeout after
    // the restart (its client gave it up): the new writer waits that long.
    auto ds2 = eng2.open(dir, zk_options(zk, 1000ms));
    ds2.append_row(make_row(1000));
    ds2.flush();
  }
  auto rows = rows_of(dir);
  REQUIRE(rows.size() == static_cast<size_t>(next));
  CHECK(rows.back() == 1000);
}
