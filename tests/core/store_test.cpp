#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "serialake/error.hpp"
#include "core/snapshot_data.hpp"
#include "core/store.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using serialake::test::temp_dir;

namespace {

store_options small_chunks() {
  store_options o;
  o.chunk_bytes = 4096;
  o.write_buffer_bytes = 1024;
  return o;
}

std::string blob(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 2654435761u + i * 40503u) >> 7);
  return s;
}

}  // namespace

TEST_CASE("every dtype round-trips through commit and reopen") {
  temp_dir d;
  auto path = d / "ds";
  {
    auto s = store::create(path);
    s->create_tensor({"b", dtype::boolean, "generic", {}});
    s->create_tensor({"u8", dtype::uint8, "image", {}});
    s->create_tensor({"u16", dtype::uint16, "generic", {}});
    s->create_tensor({"u32", dtype::uint32, "generic", {}});
    s->create_tensor({"u64", dtype::uint64, "generic", {}});
    s->create_tensor({"i8", dtype::int8, "generic", {}});
    s->create_tensor({"i16", dtype::int16, "generic", {}});
    s->create_tensor({"i32", dtype::int32, "generic", {}});
    s->create_tensor({"i64", dtype::int64, "class_label", {}});
    s->create_tensor({"f32", dtype::float32, "embedding", shape_t{3}});
    s->create_tensor({"f64", dtype::float64, "generic", {}});
    s->create_tensor({"raw", dtype::bytes, "generic", {}});
    s->create_tensor({"txt", dtype::text, "text", {}});
    s->create_tensor({"js", dtype::json, "json", {}});
    for (int i = 0; i < 50; ++i) {
      row r;
      r.emplace_back("b", sample::of<uint8_t>(dtype::boolean, {1, 0, uint8_t(i & 1)}, {3}));
      r.emplace_back("u8", sample::of<uint8_t>(dtype::uint8, std::vector<uint8_t>(i * 2, uint8_t(i)),
                                               {uint64_t(i), 2}));
      r.emplace_back("u16", sample::scalar<uint16_t>(dtype::uint16, uint16_t(60000 + i)));
      r.emplace_back("u32", sample::scalar<uint32_t>(dtype::uint32, 4000000000u + i));
      r.emplace_back("u64", sample::scalar<uint64_t>(dtype::uint64, ~uint64_t(i)));
      r.emplace_back("i8", sample::scalar<int8_t>(dtype::int8, int8_t(-i)));
      r.emplace_back("i16", sample::scalar<int16_t>(dtype::int16, int16_t(-300 * i)));
      r.emplace_back("i32", sample::scalar<int32_t>(dtype::int32, -70000 * i));
      r.emplace_back("i64", sample::scalar<int64_t>(dtype::int64, -(int64_t(1) << 40) + i));
      r.emplace_back("f32", sample::of<float>(dtype::float32, {1.5f * i, -2.f, 3.25f}, {3}));
      r.emplace_back("f64", sample::of<double>(dtype::float64, std::vector<double>(i % 5, 0.1 * i),
                                               {uint64_t(i % 5)}));
      r.emplace_back("raw", sample::of_bytes(blob(i * 7, i)));
      r.emplace_back("txt", sample::of_text("héllo " + std::to_string(i)));
      r.emplace_back("js", sample::of_json("{\"i\": " + std::to_string(i) + "}"));
      CHECK(s->append_row(r) == uint64_t(i));
    }
    s->commit("first");
  }
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  REQUIRE(snap->version() == 1);
  REQUIRE(snap->tensors().size() == 14);
  for (int i = 0; i < 50; ++i) {
    CHECK(snap->read("b", i).as<uint8_t>() == std::vector<uint8_t>{1, 0, uint8_t(i & 1)});
    auto u8 = snap->read("u8", i);
    CHECK(u8.shape == shape_t{uint64_t(i), 2});
    CHECK(u8.as<uint8_t>() == std::vector<uint8_t>(i * 2, uint8_t(i)));
    CHECK(snap->read("u16", i).as<uint16_t>()[0] == 60000 + i);
    CHECK(snap->read("u32", i).as<uint32_t>()[0] == 4000000000u + i);
    CHECK(snap->read("u64", i).as<uint64_t>()[0] == ~uint64_t(i));
    CHECK(snap->read("i8", i).as<int8_t>()[0] == -i);
    CHECK(snap->read("i16", i).as<int16_t>()[0] == -300 * i);
    CHECK(snap->read("i32", i).as<int32_t>()[0] == -70000 * i);
    CHECK(snap->read("i64", i).as<int64_t>()[0] == (-(int64_t(1) << 40) + i));
    CHECK(snap->read("i64", i).shape.empty());
    CHECK(snap->read("f32", i).as<float>() == std::vector<float>{1.5f * i, -2.f, 3.25f});
    CHECK(snap->read("f64", i).shape == shape_t{uint64_t(i % 5)});
    CHECK(snap->read("raw", i).data == blob(i * 7, i));
    CHECK(snap->read("txt", i).data == "héllo " + std::to_string(i));
    CHECK(snap->read("js", i).data == "{\"i\": " + std::to_string(i) + "}");
  }
  CHECK(s->tensors()[9].shape == shape_t{3});
  CHECK(s->tensors()[1].htype == "image");
  CHECK(s->log().size() == 1);
  CHECK(s->log()[0].message == "first");
  CHECK(s->verify().empty());
}

TEST_CASE("a tensor spans many chunks and reads back in order") {
  temp_dir d;
  auto path = d / "ds";
  {
    auto s = store::create(path, small_chunks());
    s->create_tensor({"x", dtype::bytes, "generic", {}});
    for (int i = 0; i < 2000; ++i) {
      s->append("x", sample::of_bytes(blob(i % 300 + (i % 97 == 0 ? 5000 : 0), i)));
      if (i % 333 == 0) s->commit();
    }
    s->commit();
  }
  auto s = store::open(path);
  auto snap = s->snapshot();
  REQUIRE(snap->length("x") == 2000);
  CHECK(snap->data().tensor("x").chunks.size() > 50);
  for (int i = 0; i < 2000; ++i)
    REQUIRE(snap->read("x", i).data == blob(i % 300 + (i % 97 == 0 ? 5000 : 0), i));
  // A reopened writer continues in new chunks.
  s->append("x", sample::of_bytes("tail"));
  s->commit();
  CHECK(s->snapshot()->read("x", 2000).data == "tail");
}

TEST_CASE("uncommitted appends are invisible and commit makes them visible") {
  temp_dir d;
  auto s = store::create(d / "ds");
  s->create_tensor({"x", dtype::int64, "generic", {}});
  CHECK(s->commit().version == 0);
  s->append("x", sample::scalar<int64_t>(dtype::int64, 7));
  CHECK(s->snapshot()->length("x") == 0);
  CHECK(s->pending_samples() == 1);
  auto c = s->commit();
  CHECK(c.version == 1);
  CHECK(c.samples == 1);
  CHECK(s->snapshot()->length("x") == 1);
  CHECK(s->commit().version == 1);  // nothing new: no new version
  CHECK(s->commit("named").version == 2);
  CHECK(s->log().size() == 1);
  CHECK(s->log(true).size() == 2);
}

TEST_CASE("snapshots are immutable and readable from another thread while appending") {
  temp_dir d;
  auto s = store::create(d / "ds", small_chunks());
  s->create_tensor({"x", dtype::bytes, "generic", {}});
  for (int i = 0; i < 100; ++i) s->append("x", sample::of_bytes(blob(64, i)));
  s->commit();
  auto snap = s->snapshot();
  std::atomic<bool> bad{false};
  std::thread reader([&] {
    for (int round = 0; round < 50; ++round)
      for (int i = 0; i < 100; ++i)
        if (snap->read("x", i).data != blob(64, i)) bad = true;
  });
  for (int i = 100; i < 10000; ++i) {
    s->append("x", sample::of_bytes(blob(64, i)));
    if (i % 1000 == 0) s->commit();
  }
  s->commit();
  reader.join();
  CHECK_FALSE(bad);
  CHECK(snap->length("x") == 100);
  CHECK(snap->version() == 1);
  CHECK(code_of([&] { snap->read("x", 100); }) == errc::not_found);
  CHECK(s->snapshot()->length("x") == 10000);
}

TEST_CASE("bad input is refused and leaves the dataset unchanged") {
  temp_dir d;
  auto s = store::create(d / "ds");
  s->create_tensor({"e", dtype::float32, "embedding", shape_t{4}});
  s->create_tensor({"l", dtype::int64, "class_label", {}});
  s->create_tensor({"t", dtype::text, "text", {}});
  s->create_tensor({"j", dtype::json, "json", {}});
  s->create_tensor({"b", dtype::boolean, "generic", {}});
  s->append("l", sample::scalar<int64_t>(dtype::int64, 1));
  s->commit();
  CHECK(code_of([&] { s->append("l", sample::scalar<int32_t>(dtype::int32, 1)); }) == errc::schema_mismatch);
  CHECK(code_of([&] { s->append("e", sample::of<float>(dtype::float32, {1, 2, 3}, {3})); }) == errc::schema_mismatch);
  CHECK(code_of([&] { s->append("e", sample::of<float>(dtype::float32, {1, 2, 3}, {4})); }) == errc::invalid_argument);
  CHECK(code_of([&] { s->append("nope", sample::of_bytes("x")); }) == errc::not_found);
  CHECK(code_of([&] { s->append("t", sample::of_text("\xff\xfe")); }) == errc::schema_mismatch);
  CHECK(code_of([&] { s->append("j", sample::of_json("{not json")); }) == errc::schema_mismatch);
  CHECK(code_of([&] { s->append("b", sample::of<uint8_t>(dtype::boolean, {2}, {1})); }) == errc::schema_mismatch);
  CHECK(code_of([&] { s->create_tensor({"bad name", dtype::bytes, "generic", {}}); }) == errc::invalid_argument);
  CHECK(code_of([&] { s->create_tensor({"../up", dtype::bytes, "generic", {}}); }) == errc::invalid_argument);
  CHECK(code_of([&] { s->create_tensor({"l", dtype::bytes, "generic", {}}); }) == errc::already_exists);
  CHECK(code_of([&] { s->create_tensor({"fx", dtype::bytes, "generic", shape_t{3}}); }) == errc::invalid_argument);
  // A row with one bad sample writes none of it.
  row r;
  r.emplace_back("l", sample::scalar<int64_t>(dtype::int64, 2));
  r.emplace_back("e", sample::of<float>(dtype::float32, {1}, {1}));
  CHECK(code_of([&] { s->append_row(r); }) == errc::schema_mismatch);
  CHECK(s->pending_samples() == 0);
  CHECK(s->commit().version == 1);
  CHECK(s->snapshot()->length("l") == 1);
  std::string msg;
  CHECK(expect_code(errc::schema_mismatch,
                    [&] { s->append("e", sample::of<float>(dtype::float32, {1, 2}, {2})); }, &msg));
  CHECK_THAT(msg, Catch::Contains("'e'") && Catch::Contains("[4]"));
  // Read-only opens refuse writes.
  auto ro = store::open(d / "ds", {true, {}, {}, {}});
  CHECK(code_of([&] { ro->append("l", sample::scalar<int64_t>(dtype::int64, 1)); }) == errc::read_only);
  CHECK(code_of([&] { ro->create_tensor({"z", dtype::bytes, "generic", {}}); }) == errc::read_only);
  CHECK(code_of([&] { ro->commit("x"); }) == errc::read_only);
}

TEST_CASE("create refuses an existing dataset and open a missing one") {
  temp_dir d;
  store::create(d / "ds");
  CHECK(code_of([&] { store::create(d / "ds"); }) == errc::already_exists);
  CHECK(code_of([&] { store::open(d / "missing"); }) == errc::not_found);
}

TEST_CASE("older versions open read-only and show what they held") {
  temp_dir d;
  auto path = d / "ds";
  {
    auto s = store::create(path);
    s->create_tensor({"x", dtype::int32, "generic", {}});
    s->append("x", sample::scalar<int32_t>(dtype::int32, 1));
    s->commit("v1");
    s->create_tensor({"y", dtype::int32, "generic", {}});
    s->append("x", sample::scalar<int32_t>(dtype::int32, 2));
    s->append("y", sample::scalar<int32_t>(dtype::int32, 3));
    s->commit("v2");
  }
  open_options at1;
  at1.version = 1;
  auto old = store::open(path, at1);
  CHECK(old->read_only());
  CHECK(old->snapshot()->length("x") == 1);
  CHECK_FALSE(old->snapshot()->has_tensor("y"));
  CHECK(code_of([&] { old->append("x", sample::scalar<int32_t>(dtype::int32, 9)); }) == errc::read_only);
  open_options at9;
  at9.version = 9;
  CHECK(code_of([&] { store::open(path, at9); }) == errc::not_found);
  auto cur = store::open(path, {true, {}, {}, {}});
  CHECK(cur->snapshot()->length("x") == 2);
  CHECK(cur->snapshot()->read("y", 0).as<int32_t>()[0] == 3);
}

TEST_CASE("read-only refresh sees commits made after it opened") {
  temp_dir d;
  auto w = store::create(d / "ds");
  w->create_tensor({"x", dtype::bytes, "generic", {}});
  auto r = store::open(d / "ds", {true, {}, {}, {}});
  CHECK(r->snapshot()->length("x") == 0);
  w->append("x", sample::of_bytes("one"));
  w->commit();
  w->create_tensor({"y", dtype::bytes, "generic", {}});
  w->append("y", sample::of_bytes("two"));
  w->commit();
  CHECK(r->refresh());
  CHECK(r->version() == 2);
  CHECK(r->snapshot()->read("x", 0).data == "one");
  CHECK(r->snapshot()->read("y", 0).data == "two");
  CHECK_FALSE(r->refresh());
}

TEST_CASE("append_rows is all or nothing and names the bad row") {
  temp_dir d;
  auto s = store::create(d / "ds");
  s->create_tensor({"l", dtype::int64, "class_label", {}});
  s->create_tensor({"t", dtype::text, "text", {}});
  std::vector<row> rows(5);
  for (int k = 0; k < 5; ++k) {
    rows[k].emplace_back("l", sample::scalar<int64_t>(dtype::int64, k));
    rows[k].emplace_back("t", sample::of_text("r" + std::to_string(k)));
  }
  CHECK(s->append_rows(rows) == 0);
  rows[3][1].second = sample::scalar<int64_t>(dtype::int64, 9);
  try {
    s->append_rows(rows);
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.code() == errc::schema_mismatch);
    CHECK_THAT(e.message(), Catch::StartsWith("row 3:") && Catch::Contains("'t'"));
  }
  CHECK(s->pending_samples() == 10);
  std::vector<sample> batch{sample::scalar<int64_t>(dtype::int64, 1), sample::of_text("x")};
  std::string msg;
  CHECK(expect_code(errc::schema_mismatch, [&] { s->append_batch("l", batch); }, &msg));
  CHECK_THAT(msg, Catch::StartsWith("batch sample 1"));
  CHECK(s->pending_samples() == 10);
  s->commit();
  CHECK(s->snapshot()->length("l") == 5);
  CHECK(s->snapshot()->length("t") == 5);
}
