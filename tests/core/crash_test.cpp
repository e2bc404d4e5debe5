// Crash simulation: the files are left as a crash at some moment would leave
// them, and reopening must show exactly the last complete commit.

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/store.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using serialake::test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string payload(int i) { return "sample-" + std::to_string(i) + std::string(i % 50, 'z'); }

// Ends a writer session as a crash would: the files stay exactly as it wrote
// them (commits.mark still says the session is open, its uncommitted chunk
// files are there), as after a SIGKILL.
void die(std::unique_ptr<store>& s) {
  const std::string path = s->path();
  const std::string saved = path + ".at-crash";
  fs::copy(path, saved, fs::copy_options::recursive);
  s.reset();
  fs::remove_all(path);
  fs::rename(saved, path);
}

// Creates a dataset with `commits` commits of 10 samples each, then the writer
// dies. A write buffer of 64 bytes sends the samples to chunk files;
// `inline_small` keeps the default buffer, so each small commit carries its
// samples in the log record.
void build(const std::string& path, int commits, uint64_t chunk_bytes = 1024,
           bool inline_small = false) {
  store_options o;
  o.chunk_bytes = chunk_bytes;
  if (!inline_small) o.write_buffer_bytes = 64;
  auto s = store::create(path, o);
  s->create_tensor({"x", dtype::bytes, "generic", {}});
  for (int c = 0; c < commits; ++c) {
    for (int i = 0; i < 10; ++i) s->append("x", sample::of_bytes(payload(c * 10 + i)));
    s->commit();
  }
  die(s);
}

void check_prefix(const std::string& path, uint64_t version) {
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  REQUIRE(snap->version() == version);
  REQUIRE(snap->length("x") == version * 10);
  for (uint64_t i = 0; i < version * 10; ++i) REQUIRE(snap->read("x", i).data == payload(int(i)));
}

std::vector<std::string> chunk_paths(const std::string& path) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(path + "/chunks/x")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void append_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream f(file, std::ios::binary | std::ios::app);
  f << bytes;
}

}  // namespace

TEST_CASE("appends without commit vanish at reopen and their chunks are removed") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3);
  auto committed = chunk_paths(path);
  open_options small;
  small.tuning.chunk_bytes = 1024;
  small.tuning.write_buffer_bytes = 64;
  // Kills: orphan clean-up that skips the dead session, or close() that keeps
  // chunk files holding only uncommitted bytes.
  SECTION("the writer dies: the next writer removes the dead session's chunks") {
    auto s = store::open(path, small);
    for (int i = 0; i < 500; ++i) s->append("x", sample::of_bytes(std::string(100, 'q')));
    die(s);
    check_prefix(path, 3);
    CHECK(chunk_paths(path).size() > committed.size());
    { auto w = store::open(path); }
    CHECK(chunk_paths(path) == committed);
  }
  SECTION("the writer closes without committing: it removes them itself") {
    {
      auto s = store::open(path, small);
      for (int i = 0; i < 500; ++i) s->append("x", sample::of_bytes(std::string(100, 'q')));
    }
    CHECK(chunk_paths(path) == committed);
  }
  SECTION("files not named by the store, or of a writer not known dead, are never removed") {
    std::ofstream(path + "/chunks/x/notes.txt") << "mine";
    std::ofstream(path + "/chunks/x/00000000deadbeef-000000.chk") << "another writer's";
    { auto w = store::open(path); }
    CHECK(fs::exists(path + "/chunks/x/notes.txt"));
    CHECK(fs::exists(path + "/chunks/x/00000000deadbeef-000000.chk"));
  }
  check_prefix(path, 3);
}

TEST_CASE("a log cut at any byte of its last records shows the last whole commit") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 4);
  auto log = path + "/" + format::log_file;
  auto full = fs::file_size(log);
  // Sizes of the log after each commit.
  std::vector<uint64_t> ends;
  {
    std::string content = io::read_file(log);
    size_t off = 0;
    while (off < content.size()) {
      format::record r;
      size_t used = 0;
      REQUIRE(format::decode(std::string_view(content).substr(off), r, used) == format::decode_status::ok);
      off += used;
      ends.push_back(off);
    }
  }
  REQUIRE(ends.size() == 4);
  // Every offset of the first record, each record boundary and its neighbours,
  // and a sweep over the rest.
  std::set<uint64_t> cuts;
  for (uint64_t cut = 0; cut <= ends[0]; ++cut) cuts.insert(cut);
  for (uint64_t e : ends)
    for (uint64_t cut : {e - 1, e, e + 1})
      if (cut <= full) cuts.insert(cut);
  for (uint64_t cut = ends[1] - 3; cut <= full; cut += 7) cuts.insert(cut);
  for (uint64_t cut : cuts) {
    INFO("log cut to " << cut << " bytes");
    temp_dir c;
    fs::copy(path, c / "ds", fs::copy_options::recursive);
    fs::resize_file(c / "ds/" + format::log_file, cut);
    uint64_t expect = 0;
    while (expect < ends.size() && ends[expect] <= cut) ++expect;
    check_prefix(c / "ds", expect);
    { auto w = store::open(c / "ds"); }  // a writer truncates the torn tail
    CHECK(fs::file_size(c / "ds/" + format::log_file) == (expect ? ends[expect - 1] : 0));
    check_prefix(c / "ds", expect);
  }
}

TEST_CASE("zeros after the last record of a crashed writer are a torn tail; garbage is damage") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 2);
  const auto log = path + "/" + format::log_file;
  const auto good = fs::file_size(log);
  SECTION("zeros: a file extended by the crash, cut by the next writer") {
    append_bytes(log, std::string(4096, '\0'));
    check_prefix(path, 2);
    CHECK_FALSE(store::open(path, {true, {}, {}, {}})->damage());
    { auto w = store::open(path); }
    CHECK(fs::file_size(log) == good);
    check_prefix(path, 2);
  }
  SECTION("garbage: no append leaves it, so it is reported and kept") {
    // Kills: a scan that calls any undecodable tail torn (the writer then cut it).
    append_bytes(log, "garbage that is not a record");
    check_prefix(path, 2);
    auto damage = store::open(path, {true, {}, {}, {}})->damage();
    REQUIRE(damage);
    CHECK_THAT(*damage, Catch::Contains("commits.log") && Catch::Contains("offset " + std::to_string(good)));
    CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
    CHECK(fs::file_size(log) == good + 28);
  }
}

TEST_CASE("a last commit whose chunk bytes did not reach the disk is dropped") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20);  // all in one chunk
  auto chunks = chunk_paths(path);
  REQUIRE(chunks.size() == 1);
  fs::resize_file(chunks[0], fs::file_size(chunks[0]) - 5);
  check_prefix(path, 2);
}

TEST_CASE("a last commit whose chunk tail reads back as zeros is dropped") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20);
  auto chunk = chunk_paths(path)[0];
  auto size = fs::file_size(chunk);
  uint64_t last_commit = 0;
  for (int i = 20; i < 30; ++i) last_commit += payload(i).size();
  fs::resize_file(chunk, size - last_commit);
  fs::resize_file(chunk, size);  // the last commit's bytes are a hole: zeros, as after a power cut
  check_prefix(path, 2);
}

TEST_CASE("a flipped byte in the last commit is reported, not hidden by dropping the commit") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20);
  auto chunk = chunk_paths(path)[0];
  {
    std::fstream f(chunk, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(-3, std::ios::end);  // inside sample 29, in the last commit
    f.put('#');
  }
  auto s = store::open(path, {true, {}, {}, {}});
  CHECK(s->version() == 3);
  auto problems = s->verify();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].index == 29);
  CHECK(s->snapshot()->read("x", 28).data == payload(28));
  CHECK(expect_code(errc::corrupt, [&] { s->snapshot()->read("x", 29); }));
}

TEST_CASE("bytes past the committed end of a chunk are ignored") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 2, 1 << 20);
  append_bytes(chunk_paths(path)[0], std::string(1000, 'j'));
  check_prefix(path, 2);
  auto s = store::open(path);
  s->append("x", sample::of_bytes(payload(20)));
  s->commit();
  auto snap = store::open(path, {true, {}, {}, {}})->snapshot();
  CHECK(snap->length("x") == 21);
  for (int i = 0; i < 21; ++i) CHECK(snap->read("x", i).data == payload(i));
}

TEST_CASE("a temp schema file left behind is ignored and cleaned up") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 1);
  append_bytes(path + "/dataset.json.tmp", "{ half written");
  check_prefix(path, 1);
  { auto w = store::open(path); }
  CHECK_FALSE(fs::exists(path + "/dataset.json.tmp"));
}

TEST_CASE("a flipped byte in a chunk is corrupt for that sample only") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20);
  auto chunk = chunk_paths(path)[0];
  {
    std::fstream f(chunk, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(payload(0).size() + 2);  // inside sample 1
    f.put('#');
  }
  auto s = store::open(path, {true, {}, {}, {}});
  auto snap = s->snapshot();
  CHECK(snap->read("x", 0).data == payload(0));
  CHECK(snap->read("x", 2).data == payload(2));
  try {
    snap->read("x", 1);
    FAIL("no error");
  } catch (const error& e) {
    CHECK(e.code() == errc::corrupt);
    CHECK_THAT(e.message(), Catch::Contains("'x'") && Catch::Contains("index 1") &&
                                Catch::Contains(".chk"));
  }
  auto problems = s->verify();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].tensor == "x");
  CHECK(problems[0].index == 1);
  CHECK(problems[0].file == chunk);
}

TEST_CASE("a damaged schema or log gives a clear corrupt error") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3);
  SECTION("garbage dataset.json") {
    std::ofstream(path + "/dataset.json") << "{\"format\": \"serialake\", \"tens";
    try {
      store::open(path);
      FAIL("no error");
    } catch (const error& e) {
      CHECK(e.code() == errc::corrupt);
      CHECK_THAT(e.message(), Catch::Contains("dataset.json"));
    }
  }
  SECTION("empty dataset.json") {
    std::ofstream(path + "/dataset.json", std::ios::trunc);
    CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
  }
  SECTION("wrong types in dataset.json") {
    std::ofstream(path + "/dataset.json")
        << R"({"format":"serialake","format_version":1,"tensors":[{"name":"x","dtype":"complex"}]})";
    CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
  }
  SECTION("a flipped byte in the middle of the log") {
    std::fstream f(path + "/" + format::log_file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(40);
    f.put('\x7f');
    f.close();
    try {
      store::open(path);
      FAIL("no error");
    } catch (const error& e) {
      CHECK(e.code() == errc::corrupt);
      CHECK_THAT(e.message(), Catch::Contains("commits.log") && Catch::Contains("offset"));
    }
    // Nothing was cut: the damage stays for a human to look at.
    CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
  }
  SECTION("missing log") {
    fs::remove(path + "/" + format::log_file);
    CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
  }
}

TEST_CASE("a failed fsync poisons the store; committed data stays readable") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 2);
  auto s = store::open(path);
  auto snap = s->snapshot();
  {
    io::fault_guard syncs_fail([](const io::call& c) {
      return io::fault{c.kind == io::op::sync ? EIO : 0};
    });
    s->append("x", sample::of_bytes("doomed"));
    try {
      s->commit();
      FAIL("commit succeeded");
    } catch (const error& e) {
      CHECK(e.code() == errc::io);
      CHECK_THAT(e.message(), Catch::Contains("sync"));
    }
  }
  // Never retried: every later write gets the error.
  CHECK(expect_code(errc::io, [&] { s->append("x", sample::of_bytes("more")); }));
  CHECK(expect_code(errc::io, [&] { s->commit("again"); }));
  CHECK(snap->read("x", 19).data == payload(19));
  s.reset();
  check_prefix(path, 2);
}

TEST_CASE("small commits carry their samples in the log; damage and torn data there behave alike") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20, true);
  for (auto& c : chunk_paths(path)) CHECK(fs::file_size(c) == 0);  // nothing went to chunks
  check_prefix(path, 3);
  auto log = path + "/" + format::log_file;
  SECTION("a flipped byte in an inlined sample is corrupt for that sample only") {
    {
      std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
      f.seekp(-3, std::ios::end);  // inside sample 29
      f.put('#');
    }
    auto s = store::open(path, {true, {}, {}, {}});
    CHECK(s->version() == 3);
    auto problems = s->verify();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].index == 29);
    CHECK(problems[0].file == log);
    CHECK(s->snapshot()->read("x", 28).data == payload(28));
  }
  SECTION("a last commit whose inlined samples read back as zeros is dropped") {
    uint64_t last = 0;
    for (int i = 20; i < 30; ++i) last += payload(i).size();
    auto size = fs::file_size(log);
    fs::resize_file(log, size - last);
    fs::resize_file(log, size);
    check_prefix(path, 2);
    { auto w = store::open(path); }  // a writer cuts it off
    check_prefix(path, 2);
    auto w = store::open(path);
    w->append("x", sample::of_bytes(payload(20)));
    w->commit();
    CHECK(store::open(path, {true, {}, {}, {}})->snapshot()->read("x", 20).data == payload(20));
  }
  SECTION("a big commit after small ones goes to chunks and all read back") {
    store_options o;
    o.write_buffer_bytes = 256;
    open_options oo;
    oo.tuning = o;
    auto w = store::open(path, oo);
    for (int i = 30; i < 80; ++i) w->append("x", sample::of_bytes(payload(i)));
    w->commit();
    w.reset();
    auto s = store::open(path, {true, {}, {}, {}});
    REQUIRE(s->snapshot()->length("x") == 80);
    for (int i = 0; i < 80; ++i) REQUIRE(s->snapshot()->read("x", i).data == payload(i));
    CHECK(s->verify().empty());
  }
}

TEST_CASE("a flipped data length in a record is damage, not a torn tail swallowing the rest") {
  temp_dir d;
  auto path = d / "ds";
  build(path, 3, 1 << 20, true);  // small commits: samples inline, data_len > 0; the writer died
  const auto log = path + "/" + format::log_file;
  std::string content = io::read_file(log);
  format::record r;
  size_t first = 0;
  REQUIRE(format::decode(content, r, first) == format::decode_status::ok);
  uint32_t data_len;
  std::memcpy(&data_len, content.data() + first + 8, 4);
  data_len += 1u << 20;  // now record 2 seems to run past the end of the log
  {
    std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(first + 8));
    f.write(reinterpret_cast<const char*>(&data_len), 4);
  }
  // Kills: a decoder that trusts data_len (records 2 and 3 read as one torn
  // record of a dead writer, and the next writer cut them off).
  auto s = store::open(path, {true, {}, {}, {}});
  REQUIRE(s->damage());
  CHECK_THAT(*s->damage(), Catch::Contains("offset " + std::to_string(first)));
  CHECK(s->version() == 1);
  CHECK(code_of([&] { store::open(path); }) == errc::corrupt);
  CHECK(fs::file_size(log) == content.size());
}
