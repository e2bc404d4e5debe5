// snapshot::verify reads each file once, front to back, in bounded memory; reads
// and verify check each sample's stored size against its tensor's dtype and shape.

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <sstream>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/store.hpp"
#include "tests/flip_byte.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::flip_byte;
using serialake::test::temp_dir;

namespace {

std::string blob(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 2654435761u + i * 40503u) >> 7);
  return s;
}

// Counts the reads of each file while alive: the pread calls a read makes
// (one per syscall; a short read would count twice).
struct read_counter {
  std::shared_ptr<std::map<std::string, int>> reads = std::make_shared<std::map<std::string, int>>();
  io::fault_guard guard{[r = reads](const io::call& c) {
    if (c.kind == io::op::read) ++(*r)[c.path];
    return io::fault{};
  }};
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("verify reads commits.log and each chunk once, however the samples alternate") {
  temp_dir d;
  auto path = d / "ds";
  store_options o;
  o.write_buffer_bytes = 4096;
  {
    auto s = store::create(path, o);
    s->create_tensor({"x", dtype::bytes, "generic", {}});
    s->create_tensor({"y", dtype::bytes, "generic", {}});
    uint32_t seed = 0;
    for (int round = 0; round < 4; ++round) {
      // A small commit: its samples of both tensors ride in the log record...
      s->append("x", sample::of_bytes(blob(100, seed++)));
      s->append("y", sample::of_bytes(blob(100, seed++)));
      s->commit();
      // ...a large one goes to x's chunk.
      for (int k = 0; k < 50; ++k) s->append("x", sample::of_bytes(blob(200, seed++)));
      s->commit();
    }
  }
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  const std::string log = path + "/commits.log";
  std::map<std::string, int> reads;
  {
    read_counter rc;
    CHECK(snap->verify().empty());
    reads = *rc.reads;
  }
  // The log is far below the 1 MiB window: one read. (It was re-read whole each
  // time x's samples moved from its chunk back to the log, and once more for y.)
  CHECK(reads[log] == 1);
  for (auto& [file, n] : reads) {
    INFO(file);
    CHECK(n == 1);
  }
}

TEST_CASE("verify streams a sample larger than its read window") {
  temp_dir d;
  auto path = d / "ds";
  const std::string big = blob(3 << 20, 7);
  {
    auto s = store::create(path);
    s->create_tensor({"x", dtype::bytes, "generic", {}});
    s->append("x", sample::of_bytes(blob(10, 1)));
    s->append("x", sample::of_bytes(big));
    s->append("x", sample::of_bytes(blob(10, 2)));
    s->commit();
  }
  CHECK(store::open(path, {true, {}, {}, {}})->verify().empty());
  auto chunks = io::list_dir(path + "/chunks/x");
  REQUIRE(chunks.size() == 1);
  flip_byte(path + "/chunks/x/" + chunks[0], 10 + (5 << 19));  // 2.5 MiB into the big sample
  auto problems = store::open(path, {true, {}, {}, {}})->verify();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].index == 1);
  CHECK(problems[0].message == "checksum mismatch");
}

// int64 -> float64 (the example) keeps the itemsize at 8: every stored
// size still fits, and those bytes are valid float64s, so no size check can see
// it. int64 -> int32 halves the itemsize, which the stored sizes contradict.
TEST_CASE("a dtype edited in dataset.json makes reads and verify report corrupt samples") {
  temp_dir d;
  auto path = d / "ds";
  {
    auto s = store::create(path);
    s->create_tensor({"fixed", dtype::int64, "generic", shape_t{}});  // scalar: no dims stored
    s->create_tensor({"var", dtype::int64, "generic", {}});          // dims stored per sample
    for (int64_t i = 0; i < 3; ++i) {
      row r;
      r.emplace_back("fixed", sample::scalar<int64_t>(dtype::int64, i));
      r.emplace_back("var", sample::of<int64_t>(dtype::int64, {i, i, i}, {3}));
      s->append_row(r);
    }
    s->commit();
  }
  CHECK(store::open(path, {true, {}, {}, {}})->verify().empty());
  std::string schema = slurp(path + "/dataset.json");
  size_t at;
  while ((at = schema.find("\"int64\"")) != std::string::npos) schema.replace(at, 7, "\"int32\"");
  std::ofstream(path + "/dataset.json", std::ios::trunc) << schema;

  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  for (std::string t : {"fixed", "var"}) {
    try {
      snap->read(t, 1);
      FAIL("read " + t + " did not throw");
    } catch (const error& e) {
      CHECK(e.code() == errc::corrupt);
      CHECK_THAT(e.message(), Catch::Contains("tensor '" + t + "' index 1") &&
                                  Catch::Contains("commits.log") && Catch::Contains("int32"));
    }
  }
  auto problems = snap->verify();
  REQUIRE(problems.size() == 6);
  CHECK(problems[0].tensor == "fixed");
  CHECK(problems[0].index == 0);
  CHECK(problems[0].file == path + "/commits.log");
  CHECK_THAT(problems[0].message, Catch::Contains("stored 8 bytes") && Catch::Contains("need 4"));
  CHECK(problems[3].tensor == "var");
  CHECK_THAT(problems[3].message, Catch::Contains("stored 32 bytes") && Catch::Contains("need 20"));
}

TEST_CASE("stored dims whose product overflows are corrupt, not a wrapped size") {
  tensor_spec spec{"v", dtype::int64, "generic", {}};
  uint64_t dims[2] = {1ull << 62, 4};  // 2^64 elements
  CHECK_THAT(format::size_mismatch(spec, 2, reinterpret_cast<const char*>(dims), 16),
             Catch::Contains("overflow"));
  uint64_t fits[2] = {2, 3};
  CHECK(format::size_mismatch(spec, 2, reinterpret_cast<const char*>(fits), 16 + 48).empty());
}
