// Faults of the Redis lock under real datasets: the server stopped and restarted
// (losing every key), paused with SIGSTOP past the TTL, and a holder SIGSTOPped
// past the TTL. Each time the old holder gets lock_lost before another writer's
// first commit can land, its late commit is refused, the dataset stays intact,
// and a new writer proceeds.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <mutex>

#include "serialake/dataset.hpp"
#include "core/store.hpp"
#include "serialake/locks/redis.hpp"
#include "tests/expect_code.hpp"
#include "tests/locks/child_rows.hpp"
#include "tests/locks/redis_server.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using namespace serialake::test;
using namespace std::chrono_literals;

namespace {

// The Redis backend, passed through, telling the test when the lock actor's
// heartbeat reported the loss (the sync point the tests wait on).
class observed_backend : public lock_backend {
 public:
  explicit observed_backend(std::shared_ptr<lock_backend> inner) : inner_(std::move(inner)) {}
  std::future<std::string> lost() { return lost_.get_future(); }

  std::unique_ptr<dataset_lock> acquire(const std::string& path, const lock_settings& s) override {
    return std::make_unique<observed_lock>(inner_->acquire(path, s), *this);
  }
  lock_holder lock(const std::string& p, const lock_settings& s) override { return inner_->lock(p, s); }
  std::string unlock(const std::string& p, bool f, const lock_settings& s) override { return inner_->unlock(p, f, s); }
  std::optional<lock_holder> holder(const std::string& p, const lock_settings& s) override {
    return inner_->holder(p, s);
  }

 private:
  struct observed_lock : dataset_lock {
    observed_lock(std::unique_ptr<dataset_lock> l, observed_backend& b) : l_(std::move(l)), b_(b) {}
    uint64_t generation() const override { return l_->generation(); }
    void check() override { l_->check(); }
    void heartbeat() override {
      try {
        l_->heartbeat();
      } catch (const error& e) {
        std::call_once(b_.once_, [&] { b_.lost_.set_value(to_string(e.code())); });
        throw;
      }
    }
    void raise_generation(uint64_t g) override { l_->raise_generation(g); }
    void release() override { l_->release(); }
    std::unique_ptr<dataset_lock> l_;
    observed_backend& b_;
  };
  std::shared_ptr<lock_backend> inner_;
  std::promise<std::string> lost_;
  std::once_flag once_;
};

dataset_options locked_by(std::shared_ptr<lock_backend> b, std::chrono::milliseconds ttl) {
  dataset_options o;
  o.locking = std::move(b);
  o.lock_validity = ttl;
  o.lock_heartbeat = ttl / 10;
  o.lock_timeout = 10s;
  return o;
}

// The dataset holds exactly `want` (values of w, in order) and verifies clean.
void check_rows(const std::string& ds, const std::vector<int64_t>& want) {
  open_options ro;
  ro.read_only = true;
  auto st = store::open(ds, ro);
  REQUIRE(st->snapshot()->length("w") == want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CHECK(st->snapshot()->read("w", i).as<int64_t>()[0] == want[i]);
  CHECK(st->verify().empty());
  CHECK_FALSE(st->damage());
  // Every commit carries a larger generation than the one before, even when the
  // server lost K:generation (restart): raise_generation lifts it.
  auto log = st->log(true);
  for (size_t i = 1; i < log.size(); ++i) CHECK(log[i].lock_gen >= log[i - 1].lock_gen);
  CHECK(log.back().lock_gen > log.front().lock_gen);
}

// The new writer B: opens with a fresh backend, commits `w`, closes.
void new_writer_commits(const redis_server& srv, const std::string& ds, int64_t w) {
  engine eng;
  auto b = eng.open(ds, locked_by(redis_lock_backend(parse_lock_uri(srv.uri("f"))), 1000ms));
  b.append_row(make_row(w)).get();
  b.flush();
  b.close();
}

}  // namespace

// Kills: a holder that notices a stopped server only when its TTL runs out
// (lost would come 2 s later, after the restarted server let B in), a check()
// that ignores the broken notification connection (A's late commit would land),
// a raise_generation that does nothing (B's commit would carry generation 1,
// the restarted server's first, not more than A's).
TEST_CASE("server stopped and restarted empty: the holder loses the lock at once, its late commit is refused") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_child_dataset(t);
  auto observer = std::make_shared<observed_backend>(redis_lock_backend(parse_lock_uri(srv.uri("f"))));
  auto lost = observer->lost();
  engine eng;
  auto a = eng.open(ds, locked_by(observer, 2000ms));
  a.append_row(make_row(1)).get();
  a.flush();

  const auto stopped = std::chrono::steady_clock::now();
  srv.stop();
  REQUIRE(lost.wait_for(10s) == std::future_status::ready);
  CHECK(lost.get() == "lock_lost");
  CHECK(std::chrono::steady_clock::now() - stopped < 1500ms);  // not the 2 s TTL
  srv.restart();
  new_writer_commits(srv, ds, 2);
  CHECK(expect_code(errc::lock_lost, [&] {
    a.append_row(make_row(3)).get();
    a.flush();
  }));
  check_rows(ds, {1, 2});
}

// Kills: a check() without a local lease deadline (A, cut off from the paused
// server, would go on committing), a heartbeat that gives up at the first
// timeout instead of when the lease ends (lost would precede the TTL).
TEST_CASE("server paused past the TTL: the holder's lease ends before the server can grant the key again") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_child_dataset(t);
  redis_options o;
  o.connect_timeout = 300ms;
  auto observer = std::make_shared<observed_backend>(redis_lock_backend(parse_lock_uri(srv.uri("f")), o));
  auto lost = observer->lost();
  engine eng;
  auto a = eng.open(ds, locked_by(observer, 1000ms));
  a.append_row(make_row(1)).get();
  a.flush();

  srv.pause();
  REQUIRE(lost.wait_for(10s) == std::future_status::ready);
  CHECK(lost.get() == "lock_lost");
  // Still paused: no other writer can have the key, and A commits nothing more.
  CHECK(expect_code(errc::lock_lost, [&] {
    a.append_row(make_row(3)).get();
    a.flush();
  }));
  srv.resume();
  new_writer_commits(srv, ds, 2);
  check_rows(ds, {1, 2});
}

// Kills: a check() that heeds neither its lease deadline nor the key's expiry
// notification (the resumed holder's commit would pass the lock check; only the
// log's fence would stop it, with another error), a waiter that does not wake on
// the key's expiry (B would time out).
TEST_CASE("a holder SIGSTOPped past the TTL: the waiter gets the key on expiry, the holder's late commit is refused") {
  redis_server srv;
  temp_dir t;
  const std::string ds = make_child_dataset(t);
  child holder({SERIALAKE_LOCK_CHILD, "fenced", ds, srv.uri("f"), "1000"});
  REQUIRE(holder.line() == "ready");
  holder.kill(SIGSTOP);
  new_writer_commits(srv, ds, 2);  // waits (up to 10 s) for the key to expire
  holder.kill(SIGCONT);
  holder.send("\n");
  CHECK_THAT(holder.line(), Catch::StartsWith("error lock_lost"));
  check_rows(ds, {1, 2});
}
