// The snapshot's open-file cache: bounded, and readable from many threads at once.

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>

#include <atomic>
#include <random>
#include <thread>

#include "core/chunk_files.hpp"
#include "serialake/error.hpp"
#include "core/store.hpp"
#include "tests/proc_count.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using serialake::test::temp_dir;

namespace {

size_t open_fds() { return serialake::test::proc_entries("/proc/self/fd"); }

std::string payload(uint64_t i) { return std::string(100 + i % 7, static_cast<char>('a' + i % 26)); }

// A dataset whose tensor "x" has `chunks` chunk files of one sample each, one
// commit per sample (so opening it touches only the last chunk).
std::string build(const temp_dir& d, uint64_t chunks) {
  store_options o;
  o.chunk_bytes = 1;          // every append starts a new chunk
  o.write_buffer_bytes = 64;  // too small to inline a sample in the log
  auto path = d / "ds";
  auto s = store::create(path, o);
  s->create_tensor({"x", dtype::bytes, "generic", {}});
  for (uint64_t i = 0; i < chunks; ++i) {
    s->append("x", sample::of_bytes(payload(i)));
    s->commit();
  }
  return path;
}

}  // namespace

TEST_CASE("the chunk file cache never keeps more than its capacity of files open") {
  temp_dir d;
  const size_t capacity = 8;
  auto path = build(d, 2 * capacity);
  SECTION("reading 2x capacity chunks through a snapshot") {
    open_options oo;
    oo.read_only = true;
    oo.tuning.open_files = capacity;
    auto s = store::open(path, oo);
    auto snap = s->snapshot();
    const size_t before = open_fds();  // may hold a chunk opened by recovery already
    size_t most = before;
    for (int pass = 0; pass < 2; ++pass)
      for (uint64_t i = 0; i < 2 * capacity; ++i) {
        REQUIRE(snap->read("x", i).data == payload(i));
        most = std::max(most, open_fds());
      }
    CHECK(most <= before + capacity);
    CHECK(snap->verify().empty());
  }
  SECTION("directly: the least recently used file is the one closed") {
    chunk_files files(path, 2);
    auto names = std::vector<std::string>();
    for (auto& e : io::list_dir(path + "/chunks/x")) names.push_back(e);
    REQUIRE(names.size() == 2 * capacity);
    const size_t before = open_fds();
    auto a = files.get("x", names[0]);
    files.get("x", names[1]);
    CHECK(files.get("x", names[0]) == a);  // a hit, and now the most recent
    files.get("x", names[2]);              // evicts names[1]
    CHECK(files.cached() == 2);
    CHECK(files.get("x", names[0]) == a);
    CHECK(open_fds() == before + 2);
    // An evicted file a reader still holds stays open and readable.
    for (size_t i = 3; i < names.size(); ++i) files.get("x", names[i]);
    CHECK(files.cached() == 2);
    char c;
    CHECK(a->pread_exact(&c, 1, 0));
    CHECK(open_fds() == before + 3);
    a.reset();
    CHECK(open_fds() == before + 2);
  }
  CHECK(expect_code(errc::invalid_argument, [&] { chunk_files(path, 0); }));
}

TEST_CASE("many threads read through a small chunk file cache at once, all correctly") {
  temp_dir d;
  const uint64_t n = 32;
  auto path = build(d, n);
  open_options oo;
  oo.read_only = true;
  oo.tuning.open_files = 3;  // constant eviction while others read the evicted files
  auto s = store::open(path, oo);
  auto snap = s->snapshot();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < 8; ++k)
    threads.emplace_back([&, k] {
      std::mt19937 rng(k);
      for (int r = 0; r < 3000; ++r) {
        uint64_t i = rng() % n;
        try {
          if (snap->read("x", i).data != payload(i)) ++wrong;
        } catch (const error&) {
          ++wrong;
        }
      }
    });
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
}
