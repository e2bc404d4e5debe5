// The inputs fuzzing found (tests/fuzz/<harness>/regressions/), each fed to the
// code it broke, named after what it guards.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/lock_file.hpp"
#include "core/log_mark.hpp"
#include "core/schema.hpp"
#include "core/store.hpp"
#include "tests/fuzz/dataset_image.hpp"
#include "tests/proc_count.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

// A dataset_fuzzer regression input, written out as the dataset it describes.
std::string dataset_from(const temp_dir& d, const std::string& name) {
  const std::string image = io::read_file(std::string(SERIALAKE_FUZZ_DIR) + "/dataset/regressions/" + name);
  const std::string dir = d / "ds";
  fuzz::write_image(dir, fuzz::unpack_image(image));
  return dir;
}

}  // namespace

TEST_CASE("a log entry claiming more bytes than its chunk holds reads as corrupt without allocating them") {
  // The log names a sample of about 2.4 GB in a chunk of a few bytes; reading it
  // used to allocate (and zero) the claimed size before finding the chunk short.
  temp_dir d;
  const std::string dir = dataset_from(d, "read-allocates-claimed-size");
  REQUIRE(test::reset_peak_rss());
  const size_t before = test::peak_rss();
  open_options o;
  o.read_only = true;
  auto s = store::open(dir, o);
  auto snap = s->snapshot();
  int corrupt = 0;
  for (auto& t : snap->tensors())
    for (uint64_t i = 0; i < snap->length(t.name); ++i) {
      try {
        snap->read(t.name, i);
      } catch (const error& e) {
        CHECK(e.code() == errc::corrupt);
        ++corrupt;
      }
    }
  CHECK(corrupt > 0);
  CHECK(test::peak_rss() - before < (256u << 20));
}

TEST_CASE("recovery finds a last record's sample past its chunk's end without allocating its claimed size") {
  // The twin of the case above, at a writer's open: the last commit of a session
  // that died is checked for unsynced samples (store_recovery.cpp), and a size
  // claimed by its record was allocated before the chunk's length was looked at.
  temp_dir d;
  const std::string dir = d / "ds", crashed = d / "crashed";
  {
    // A 1-byte write buffer sends the sample to a chunk file: the record's
    // claimed size then points past that chunk's end (an inline sample claiming
    // more than the record's data_len is refused by the decoder already).
    store_options to_chunks;
    to_chunks.write_buffer_bytes = 1;
    auto s = store::create(dir, to_chunks, {{"blob", dtype::bytes, "generic", {}}});
    s->append("blob", sample::of_bytes("abc"));
    s->commit();
    std::filesystem::copy(dir, crashed, std::filesystem::copy_options::recursive);  // as a crash leaves it
  }
  // The record now claims 3.75 GiB for its sample (its hash made right again).
  const std::string log_path = crashed + "/" + format::log_file;
  std::string log = io::read_file(log_path);
  format::record r;
  size_t used = 0;
  REQUIRE(format::decode(log, r, used) == format::decode_status::ok);
  r.segments.at(0).entries.at(0).size = 0xF0000000u;
  std::string head;
  format::encode(r, head);
  log.replace(0, head.size(), head);
  std::ofstream(log_path, std::ios::binary | std::ios::trunc) << log;

  REQUIRE(test::reset_peak_rss());
  const size_t before = test::peak_rss();
  auto s = store::open(crashed);
  CHECK(s->dropped_commit() == std::optional<uint64_t>(1));  // never fully on disk: not acknowledged
  CHECK(s->version() == 0);
  CHECK(test::peak_rss() - before < (256u << 20));
}

TEST_CASE("a lock file number that is a float out of its integer's range makes the content unreadable") {
  // "heartbeat_ms": 1.8e23 was cast to int64_t by nlohmann's get<int64_t>():
  // undefined behaviour (UBSan), and a holder made of whatever it produced.
  temp_dir d;
  store::create(d / "ds")->close();
  const std::string input =
      io::read_file(std::string(SERIALAKE_FUZZ_DIR) + "/lock_file/regressions/float-out-of-int-range");
  // That input lacks a token, so it was unreadable anyway: it guards the cast
  // under UBSan (the sanitizer pass of scripts/test). A complete grant with such
  // a heartbeat was judged by whatever the cast produced.
  const std::string complete =
      R"({"state":"held","kind":"writer","host":"elsewhere","pid":1,"since_ms":1,)"
      R"("heartbeat_ms":1.8e23,"generation":3,"token":"t","flock":true})";
  for (const std::string& content : {input, complete}) {
    std::ofstream(d / "ds/lock", std::ios::binary | std::ios::trunc) << content;
    auto h = file_lock_backend_impl().holder(d / "ds", lock_settings{});
    REQUIRE(h);
    CHECK(h->kind == "unknown");  // unreadable and just written: held until it is old
  }
}

TEST_CASE("dataset.json and commits.mark with float numbers out of their integers' range are damaged") {
  // The twins of the lock file case: every integer core reads from JSON.
  temp_dir d;
  store::create(d / "ds")->close();
  std::ofstream(d / "ds/commits.mark", std::ios::trunc)
      << R"({"version": 1e300, "log_bytes": 0, "session": "", "open": false, "time_ms": 0})";
  CHECK(serialake::test::code_of([&] { read_mark(d / "ds"); }) == errc::corrupt);
  for (const char* tensor : {R"({"name": "a", "dtype": "int8", "since": 1e30})",
                             R"({"name": "a", "dtype": "int8", "shape": [2, -1e30]})"}) {
    std::ofstream(d / "ds/dataset.json", std::ios::trunc)
        << R"({"format": "serialake", "format_version": 1, "tensors": [)" << tensor << "]}";
    CHECK(serialake::test::code_of([&] { read_schema(d / "ds"); }) == errc::corrupt);
  }
  std::ofstream(d / "ds/dataset.json", std::ios::trunc)
      << R"({"format": "serialake", "format_version": 1e20, "tensors": []})";
  CHECK(serialake::test::code_of([&] { read_schema(d / "ds"); }) == errc::corrupt);
}

TEST_CASE("a log naming a chunk outside its tensor's folder is damaged, and nothing outside is read") {
  // Chunk names come from the log; "../../../x" made readers open any file the
  // user can read (and a FIFO would hang them). The dataset_fuzzer checks every
  // read stays in the dataset's folder; this is the case it guards.
  temp_dir d;
  const std::string dir = d / "ds";
  store_options o;
  o.write_buffer_bytes = 8;  // past the buffer: the sample goes to a chunk file
  {
    auto s = store::create(dir, o, {{"blob", dtype::bytes, "generic", {}}});
    s->append("blob", sample::of_bytes("sixteen bytes!!!"));
    s->commit();
  }
  const std::string log_path = dir + "/" + format::log_file;
  format::record r;
  size_t used = 0;
  REQUIRE(format::decode(io::read_file(log_path), r, used) == format::decode_status::ok);
  REQUIRE(r.segments.at(0).chunk.size() > 0);
  const std::string chunk = dir + "/chunks/blob/" + r.segments[0].chunk;
  std::filesystem::copy_file(chunk, d / "outside.chk");  // what the renamed chunk would find
  r.segments[0].chunk = "../../../outside.chk";
  std::string log;
  format::encode(r, log);
  std::ofstream(log_path, std::ios::binary | std::ios::trunc) << log;

  open_options ro;
  ro.read_only = true;
  auto s = store::open(dir, ro);
  CHECK(s->version() == 0);
  REQUIRE(s->damage());
  CHECK(s->damage()->find("offset 0") != std::string::npos);
  try {
    store::open(dir);
    FAIL("a writer opened a damaged log");
  } catch (const error& e) {
    CHECK(e.code() == errc::corrupt);
  }
}
