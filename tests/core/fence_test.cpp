// The commit is fenced at the log, create is atomic, and readers racing a
// writer never see false damage.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "serialake/error.hpp"
#include "core/format.hpp"
#include "core/schema.hpp"
#include "core/store.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using serialake::test::temp_dir;
namespace fs = std::filesystem;

TEST_CASE("a writer whose log was appended by another writer commits nothing more") {
  temp_dir d;
  auto path = d / "ds";
  auto a = store::create(path, {}, {{"x", dtype::int64, "generic", {}}});
  a->append("x", sample::scalar<int64_t>(dtype::int64, 1));
  a->commit();
  // Another writer (its lock check passed: it holds the lock now; a's is stale).
  auto b = store::open(path);
  b->append("x", sample::scalar<int64_t>(dtype::int64, 2));
  b->commit();
  a->append("x", sample::scalar<int64_t>(dtype::int64, 3));
  // Kills: a commit that appends with O_APPEND without checking where the log
  // ends (both records would carry version 2 and the next open fail as corrupt).
  CHECK(code_of([&] { a->commit(); }) == errc::lock_lost);
  CHECK(code_of([&] { a->commit("again"); }) == errc::lock_lost);
  a.reset();
  b.reset();
  auto r = store::open(path, {true, {}, {}, {}});
  CHECK_FALSE(r->damage());
  REQUIRE(r->version() == 2);
  CHECK(r->snapshot()->read("x", 1).as<int64_t>()[0] == 2);
  CHECK(code_of([&] { store::open(path); }) == errc{});
}

TEST_CASE("of concurrent creates exactly one wins; a failed create leaves nothing") {
  temp_dir d;
  for (int round = 0; round < 10; ++round) {
    auto path = d / ("ds" + std::to_string(round));
    std::atomic<int> go{0}, won{0}, exists{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&, t] {
        while (go.load() == 0) std::this_thread::yield();
        try {
          store::initialize(path, {{"t" + std::to_string(t), dtype::int8, "generic", {}}});
          ++won;
        } catch (const error& e) {
          if (e.code() == errc::already_exists) ++exists;
        }
      });
    go = 1;
    for (auto& t : ts) t.join();
    // Kills: a create that writes into the path in place (merged schemas, two winners).
    CHECK(won == 1);
    CHECK(exists == 3);
    CHECK(read_schema(path).size() == 1);
  }
  // A bad tensor is refused before anything exists: a retry can succeed.
  shape_t big(33, 1);
  CHECK(code_of([&] {
          store::initialize(d / "bad", {{"a", dtype::int8, "generic", {}}, {"b", dtype::int8, "generic", big}});
        }) == errc::invalid_argument);
  CHECK_FALSE(fs::exists(d / "bad"));
  shape_t huge{1ull << 32, 1ull << 32, 16};  // 2^68 int64s: the byte count overflows
  CHECK(code_of([&] { store::initialize(d / "bad", {{"a", dtype::int64, "generic", huge}}); }) ==
        errc::invalid_argument);
  CHECK_FALSE(fs::exists(d / "bad"));
  for (auto& e : fs::directory_iterator(d.path()))
    CHECK(e.path().filename().string().find("creating") == std::string::npos);
  CHECK(code_of([&] { store::initialize(d / "bad", {{"a", dtype::int8, "generic", {}}}); }) == errc{});
}

TEST_CASE("readers opening during create_tensor never see false damage") {
  temp_dir d;
  auto path = d / "ds";
  auto w = store::create(path);
  std::atomic<bool> done{false};
  std::atomic<int> opens{0};
  std::string failure;
  std::thread reader([&] {
    while (!done) {
      try {
        auto r = store::open(path, {true, {}, {}, {}});
        if (r->damage()) failure = *r->damage();
        ++opens;
      } catch (const error& e) {
        failure = e.message();
      }
    }
  });
  // Kills: reading the schema before scanning the log (a record naming a
  // tensor created after the schema was read looks like corruption).
  for (int i = 0; i < 300 && failure.empty(); ++i) {
    std::string name = "t" + std::to_string(i);
    w->create_tensor({name, dtype::int8, "generic", {}});
    w->append(name, sample::scalar<int8_t>(dtype::int8, 1));
    w->commit();
  }
  done = true;
  reader.join();
  CHECK(failure == "");
  CHECK(opens > 0);
}

TEST_CASE("refresh reports a log that shrank instead of showing it as unchanged") {
  temp_dir d;
  auto path = d / "ds";
  auto w = store::create(path, {}, {{"x", dtype::int64, "generic", {}}});
  for (int i = 0; i < 3; ++i) {
    w->append("x", sample::scalar<int64_t>(dtype::int64, i));
    w->commit();
  }
  auto r = store::open(path, {true, {}, {}, {}});
  REQUIRE(r->version() == 3);
  fs::resize_file(path + "/" + format::log_file, 10);
  // Kills: refresh treating size <= log_end as "nothing new".
  CHECK(code_of([&] { r->refresh(); }) == errc::corrupt);
  REQUIRE(r->damage());
  CHECK_THAT(*r->damage(), Catch::Contains("shrank"));
}

TEST_CASE("create_tensor by a writer whose log another writer appended changes no schema") {
  temp_dir d;
  auto path = d / "ds";
  auto a = store::create(path, {}, {{"x", dtype::int64, "generic", {}}});
  auto b = store::open(path);
  b->create_tensor({"y", dtype::int64, "generic", {}});
  b->append("y", sample::scalar<int64_t>(dtype::int64, 1));
  b->commit();
  // Kills: an unfenced create_tensor (a's schema, without y, would replace b's,
  // and b's committed record would then name an unknown tensor).
  CHECK(expect_code(errc::lock_lost, [&] { a->create_tensor({"z", dtype::int64, "generic", {}}); }));
  CHECK(read_schema(path).size() == 2);
  a.reset();
  b.reset();
  auto r = store::open(path, {true, {}, {}, {}});
  CHECK_FALSE(r->damage());
  CHECK(r->snapshot()->length("y") == 1);
}

TEST_CASE("a writer whose lock check fails at open changes nothing in recovery") {
  temp_dir d;
  auto path = d / "ds";
  {
    auto w = store::create(path, {}, {{"x", dtype::bytes, "generic", {}}});
    w->append("x", sample::of_bytes("kept"));
    w->commit();
  }
  // A crashed session's leftovers: a torn tail and a temp schema file.
  std::ofstream(path + "/" + format::log_file, std::ios::app) << std::string(64, '\0');
  std::ofstream(path + "/dataset.json.tmp") << "{";
  std::ifstream mark_in(path + "/" + format::mark_file);
  std::string mark((std::istreambuf_iterator<char>(mark_in)), std::istreambuf_iterator<char>());
  // (The mark says closed: reopen it as a crashed open session would leave it.)
  auto at = mark.find("\"open\":false");
  REQUIRE(at != std::string::npos);
  mark.replace(at, 12, "\"open\":true");
  std::ofstream(path + "/" + format::mark_file, std::ios::trunc) << mark;
  const auto log_size = fs::file_size(path + "/" + format::log_file);
  open_options o;
  o.fence = [] { throw error(errc::lock_lost, "the lock was taken over"); };
  // Kills: recovery that cuts, deletes or writes before the lock is checked.
  CHECK(expect_code(errc::lock_lost, [&] { store::open(path, o); }));
  CHECK(fs::file_size(path + "/" + format::log_file) == log_size);
  CHECK(fs::exists(path + "/dataset.json.tmp"));
  std::ifstream after_in(path + "/" + format::mark_file);
  CHECK(std::string((std::istreambuf_iterator<char>(after_in)), std::istreambuf_iterator<char>()) == mark);
}

TEST_CASE("a writer waits a bounded time for a log held mid-commit by a hung process") {
  temp_dir d;
  auto path = d / "ds";
  store::create(path, {}, {{"x", dtype::int64, "generic", {}}})->close();
  // Another process's writer stuck between its fence check and its synced
  // record holds commits.log's flock (a separate open file description here).
  int fd = ::open((path + "/" + format::log_file).c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  open_options o;
  o.tuning.log_wait = std::chrono::milliseconds(100);
  // Kills: an unbounded flock wait (the open would never return: the future
  // below times out, the flock is released so the thread can end, and it fails).
  auto opened = std::async(std::launch::async, [&] { return code_of([&] { store::open(path, o); }); });
  const bool answered = opened.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  ::flock(fd, LOCK_UN);
  ::close(fd);
  REQUIRE(answered);
  CHECK(opened.get() == errc::locked);
  CHECK(code_of([&] { store::open(path, o); }) == errc{});  // released: it opens
}
