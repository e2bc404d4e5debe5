// snapshot's bulk reads: read_into, read_range and scan give the bytes read()
// gives, check checksums, and fail with the specific errc.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "core/snapshot_data.hpp"
#include "core/store.hpp"
#include "serialake/error.hpp"
#include "tests/expect_code.hpp"
#include "tests/flip_byte.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::expect_code;
using serialake::test::flip_byte;
using serialake::test::temp_dir;

// Counts this thread's allocations while `counting` is set: read_into must make
// none. (The default operator delete frees with free(), so it pairs with this.)
namespace {
thread_local bool counting = false;
thread_local int allocations = 0;
}  // namespace

void* operator new(size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

namespace {

constexpr uint64_t rows = 700;

// Sample i of each tensor: v float32[16], s int64 scalar, r int32 ragged
// (shape [i % 5, 3]), b bytes of i % 37 bytes.
sample content(const std::string& tensor, uint64_t i) {
  if (tensor == "v") {
    std::vector<float> x(16);
    for (size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(i * 16 + k);
    return sample::of(dtype::float32, x, {16});
  }
  if (tensor == "s") return sample::scalar<int64_t>(dtype::int64, static_cast<int64_t>(i) * -3);
  if (tensor == "r") {
    std::vector<int32_t> x((i % 5) * 3, static_cast<int32_t>(i));
    return sample::of(dtype::int32, x, {i % 5, 3});
  }
  return sample::of_bytes(std::string(i % 37, static_cast<char>('a' + i % 26)));
}

// A dataset whose samples lie in many small chunks and, for small commits, in
// commits.log: runs break at chunk changes and at the log.
std::string make_dataset(const temp_dir& d) {
  const std::string path = d / "ds";
  store_options o;
  o.chunk_bytes = 2048;
  o.write_buffer_bytes = 1024;
  auto s = store::create(path, o,
                         {{"v", dtype::float32, "embedding", shape_t{16}},
                          {"s", dtype::int64, "class_label", shape_t{}},
                          {"r", dtype::int32, "generic", std::nullopt},
                          {"b", dtype::bytes, "generic", std::nullopt}});
  for (uint64_t i = 0; i < rows; ++i) {
    for (const char* t : {"v", "s", "r", "b"}) s->append(t, content(t, i));
    if (i % 97 == 3 || i % 97 == 60) s->commit();  // a few samples: inlined in the log
  }
  s->commit();
  return path;
}

}  // namespace

TEST_CASE("read_into gives read's bytes and shape, into the caller's buffer, allocating nothing") {
  temp_dir d;
  auto s = store::open(make_dataset(d), {true, {}, {}, {}});
  auto snap = s->snapshot();
  char buf[256];
  for (const char* t : {"v", "s", "r", "b"})
    for (uint64_t i = 0; i < rows; ++i) {
      INFO(t << " " << i);
      snap->read_into(t, i, buf, sizeof buf);  // a first read of a chunk opens it: that allocates
      counting = true;
      allocations = 0;
      sample_extent x = snap->read_into(t, i, buf, sizeof buf);
      counting = false;
      REQUIRE(allocations == 0);  // kills: a std::string key or buffer per read
      sample want = content(t, i);
      REQUIRE(x.to_shape() == want.shape);
      REQUIRE(std::string(buf, x.size) == want.data);
    }
}

TEST_CASE("read_into refuses a small buffer, a bad tensor and a bad index with their codes") {
  temp_dir d;
  auto s = store::open(make_dataset(d), {true, {}, {}, {}});
  auto snap = s->snapshot();
  char buf[64];
  std::string msg;
  CHECK(expect_code(errc::invalid_argument, [&] { snap->read_into("v", 0, buf, 63); }, &msg));
  CHECK(msg.find("needs 64 bytes") != std::string::npos);
  CHECK(expect_code(errc::not_found, [&] { snap->read_into("nope", 0, buf, 64); }));
  CHECK(expect_code(errc::not_found, [&] { snap->read_into("v", rows, buf, 64); }, &msg));
  CHECK(msg.find("index 700") != std::string::npos);
}

TEST_CASE("read_range into a buffer stacks the samples of a fixed-shape tensor") {
  temp_dir d;
  auto s = store::open(make_dataset(d), {true, {}, {}, {}});
  auto snap = s->snapshot();
  std::vector<char> buf(rows * 64);
  // Ranges starting and ending mid-chunk and mid-log-run, and the whole tensor.
  for (auto [b, e] : {std::pair<uint64_t, uint64_t>{0, rows}, {5, 6}, {3, 250}, {61, 62}, {rows, rows}}) {
    INFO(b << ".." << e);
    REQUIRE(snap->read_range("v", b, e, buf.data(), buf.size()) == (e - b) * 64);
    for (uint64_t i = b; i < e; ++i) REQUIRE(std::string(&buf[(i - b) * 64], 64) == content("v", i).data);
  }
  std::vector<int64_t> labels(rows);
  snap->read_range("s", 0, rows, labels.data(), labels.size() * 8);
  CHECK(labels[699] == -3 * 699);
  std::string msg;
  CHECK(expect_code(errc::invalid_argument, [&] { snap->read_range("v", 0, 10, buf.data(), 639); }, &msg));
  CHECK(msg.find("needs 640 bytes") != std::string::npos);
  CHECK(expect_code(errc::schema_mismatch, [&] { snap->read_range("r", 0, 10, buf.data(), buf.size()); }));
  CHECK(expect_code(errc::schema_mismatch, [&] { snap->read_range("b", 0, 10, buf.data(), buf.size()); }));
  CHECK(expect_code(errc::not_found, [&] { snap->read_range("v", 0, rows + 1, buf.data(), buf.size()); }));
  CHECK(expect_code(errc::not_found, [&] { snap->read_range("v", 9, 8, buf.data(), buf.size()); }));
  CHECK(expect_code(errc::not_found, [&] { snap->read_range("nope", 0, 1, buf.data(), buf.size()); }));
}

TEST_CASE("read_range of a ragged or blob tensor returns read's samples") {
  temp_dir d;
  auto s = store::open(make_dataset(d), {true, {}, {}, {}});
  auto snap = s->snapshot();
  for (const char* t : {"r", "b", "v"}) {
    auto got = snap->read_range(t, 2, rows);
    REQUIRE(got.size() == rows - 2);
    for (uint64_t i = 2; i < rows; ++i) {
      INFO(t << " " << i);
      REQUIRE(got[i - 2].shape == content(t, i).shape);
      REQUIRE(got[i - 2].data == content(t, i).data);
    }
  }
  CHECK(snap->read_range("r", 5, 5).empty());
  CHECK(expect_code(errc::not_found, [&] { snap->read_range("r", 0, rows + 1); }));
}

TEST_CASE("scan hands out every sample once, in order, in spans that never cross a chunk") {
  temp_dir d;
  auto s = store::open(make_dataset(d), {true, {}, {}, {}});
  auto snap = s->snapshot();
  const tensor_view& t = snap->data().tensor("v");
  uint64_t next = 7;
  size_t spans = 0;
  snap->scan("v", 7, 650, [&](const sample_span& sp) {
    REQUIRE(sp.first == next);  // kills: a skipped or repeated run
    REQUIRE(sp.sample_bytes == 64);
    for (uint64_t k = 0; k < sp.count; ++k) {
      // Kills: a span joining two chunks (or the log and a chunk).
      REQUIRE(t.entry(sp.first + k).chunk == t.entry(sp.first).chunk);
      REQUIRE(std::string(static_cast<const char*>(sp.data) + k * 64, 64) == content("v", sp.first + k).data);
    }
    next += sp.count;
    ++spans;
  });
  CHECK(next == 650);
  CHECK(spans > 10);  // 2 KiB chunks: many runs
  CHECK(spans < 643);  // and not one per sample
  CHECK(expect_code(errc::schema_mismatch, [&] { snap->scan("b", 0, 1, [](const sample_span&) {}); }));
  CHECK(expect_code(errc::not_found, [&] { snap->scan("v", 0, rows + 1, [](const sample_span&) {}); }));
  CHECK(expect_code(errc::not_found, [&] { snap->scan("x", 0, 1, [](const sample_span&) {}); }));
}

TEST_CASE("a flipped byte in a chunk is corrupt for read_into, read_range and scan, naming index and file") {
  temp_dir d;
  const std::string path = make_dataset(d);
  std::string file;
  const uint64_t bad = 300;
  {
    auto s = store::open(path, {true, {}, {}, {}});
    auto snap = s->snapshot();
    const tensor_view& t = snap->data().tensor("v");
    REQUIRE(!t.chunks[t.entry(bad).chunk].empty());  // in a chunk file, not the log
    file = snap->data().files->path("v", t.chunks[t.entry(bad).chunk]);
    flip_byte(file, t.entry(bad).offset + 5);
  }
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  char one[64];
  std::vector<char> all(rows * 64);
  std::string msg;
  auto names_it = [&] {
    return msg.find("index " + std::to_string(bad)) != std::string::npos && msg.find(file) != std::string::npos &&
           msg.find("'v'") != std::string::npos;
  };
  CHECK(expect_code(errc::corrupt, [&] { snap->read_into("v", bad, one, sizeof one); }, &msg));
  CHECK(names_it());
  CHECK(expect_code(errc::corrupt, [&] { snap->read_range("v", 0, rows, all.data(), all.size()); }, &msg));
  CHECK(names_it());
  CHECK(expect_code(errc::corrupt, [&] { snap->read_range("v", bad, bad + 1); }, &msg));
  CHECK(names_it());
  uint64_t handed = 0;
  CHECK(expect_code(errc::corrupt, [&] {
    snap->scan("v", 0, rows, [&](const sample_span& sp) {
      CHECK((bad < sp.first || bad >= sp.first + sp.count));  // never a span holding it
      handed += sp.count;
    });
  }, &msg));
  CHECK(names_it());
  CHECK(handed > 0);
  CHECK(handed <= bad);
  // The neighbours stay readable.
  snap->read_into("v", bad - 1, one, sizeof one);
  CHECK(std::string(one, 64) == content("v", bad - 1).data);
  snap->read_into("v", bad + 1, one, sizeof one);
  CHECK(std::string(one, 64) == content("v", bad + 1).data);
}

TEST_CASE("scan and read_into from several threads while the writer appends and commits") {
  temp_dir d;
  const std::string path = make_dataset(d);
  auto w = store::open(path);
  auto snap = w->snapshot();
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&, r] {
      char buf[64];
      for (int pass = 0; pass < 20; ++pass) {
        uint64_t seen = 0;
        snap->scan("v", 0, rows, [&](const sample_span& sp) {
          for (uint64_t k = 0; k < sp.count; ++k)
            bad += std::string(static_cast<const char*>(sp.data) + k * 64, 64) != content("v", sp.first + k).data;
          seen += sp.count;
        });
        bad += seen != rows;
        for (uint64_t i = r; i < rows; i += 7) {
          snap->read_into("v", i, buf, sizeof buf);
          bad += std::string(buf, 64) != content("v", i).data;
        }
      }
    });
  // The writer goes on filling the chunks the readers read from.
  for (uint64_t i = rows; i < 3 * rows; ++i) {
    for (const char* t : {"v", "s", "r", "b"}) w->append(t, content(t, i));
    if (i % 50 == 0) w->commit();
  }
  w->commit();
  for (auto& t : readers) t.join();
  CHECK(bad == 0);
  CHECK(snap->length("v") == rows);  // the snapshot kept its version
  CHECK(w->snapshot()->length("v") == 3 * rows);
}
