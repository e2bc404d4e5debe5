// A damaged commits.log as a user meets it (the cases of the "Data safety"
// issue): reported by every command, never cut or cleaned up by a writer, and
// `serialake repair` keeps the good commits and moves the rest aside.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;
namespace fs = std::filesystem;

namespace {

// Every file of the dataset but the lock, with its size.
std::map<std::string, uintmax_t> files_of(const std::string& ds) {
  std::map<std::string, uintmax_t> out;
  for (auto& e : fs::recursive_directory_iterator(ds))
    if (e.is_regular_file() && e.path().filename() != "lock")
      out[fs::relative(e.path(), ds).string()] = e.file_size();
  return out;
}

// 4 commits: 600, 600 and 600 rows of 2 KiB blobs (each past the 1 MiB write
// buffer, so their samples go to chunk files), then 300 rows with --durable.
void build(const std::string& ds) {
  REQUIRE(cli({"create", ds, "--tensor", "id:int64", "--tensor", "blob:bytes"}).status == 0);
  for (int c = 0; c < 3; ++c) REQUIRE(cli({"append", ds}, blob_rows(c * 600, 600, 2048)).status == 0);
  REQUIRE(cli({"append", ds, "--durable"}, blob_rows(1800, 300, 2048)).status == 0);
  REQUIRE(cli({"verify", ds}).out == "ok: 4200 samples in 2 tensors checked (version 4)\n");
  std::ofstream(ds + "/chunks/blob/notes.txt") << "a user's file";
}

}  // namespace

TEST_CASE("a damaged log is reported by readers, refused by writers, and nothing is deleted") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  build(ds);
  const std::string log = ds + "/commits.log";
  const auto size = fs::file_size(log);
  // Kills: a scan that takes any undecodable tail for a torn append, and a
  // recovery that does not check the log against commits.mark.
  SECTION("cut to half") { fs::resize_file(log, size / 2); }
  SECTION("overwritten with random bytes") {
    std::mt19937 rng(7);
    std::string junk(size, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    std::ofstream(log, std::ios::binary | std::ios::trunc) << junk;
  }
  SECTION("emptied") { fs::resize_file(log, 0); }
  SECTION("7 bytes cut off its end") { fs::resize_file(log, size - 7); }

  const auto before = files_of(ds);
  auto v = cli({"verify", ds});
  CHECK(v.status == 65);
  CHECK_THAT(v.out, Catch::Contains("commits.log"));
  auto a = cli({"append", ds}, blob_rows(5000, 1, 10));
  CHECK(a.status == 65);
  CHECK_THAT(a.err, Catch::Contains("commits.log") && Catch::Contains("offset") &&
                        Catch::Contains("serialake repair"));
  auto c = cli({"cat", ds, "--tensor", "id"});
  CHECK(c.status == 65);
  CHECK(files_of(ds) == before);  // nothing cut, nothing cleaned up
  CHECK(fs::exists(ds + "/chunks/blob/notes.txt"));
}

TEST_CASE("repair keeps the commits before the damage, moves the rest aside and says what was lost") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  build(ds);
  const std::string log = ds + "/commits.log";
  fs::resize_file(log, fs::file_size(log) - 7);  // inside version 4's record
  const auto chunks_before = files_of(ds);

  auto r = cli({"repair", ds});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("kept:   versions 1-3") &&
                        Catch::Contains("lost:   versions 4-4") &&
                        Catch::Contains("id: 300 samples") && Catch::Contains("blob: 300 samples"));
  // The damaged log is kept whole in damaged-<time>/, and nothing was deleted:
  // every file that was there is still in the dataset or in that folder.
  std::string moved_to;
  for (auto& e : fs::directory_iterator(ds))
    if (e.path().filename().string().rfind("damaged-", 0) == 0) moved_to = e.path();
  REQUIRE_FALSE(moved_to.empty());
  CHECK(fs::file_size(moved_to + "/commits.log") == chunks_before.at("commits.log"));
  for (auto& [rel, bytes] : chunks_before) {
    if (rel == "commits.log" || rel == "commits.mark") continue;
    bool here = fs::exists(ds + "/" + rel), there = fs::exists(moved_to + "/" + rel);
    CHECK((here || there));
  }
  CHECK(fs::exists(ds + "/chunks/blob/notes.txt"));

  // The dataset is whole again at version 3, and writable.
  CHECK(cli({"verify", ds}).out == "ok: 3600 samples in 2 tensors checked (version 3)\n");
  REQUIRE(cli({"append", ds}, blob_rows(1800, 300, 2048)).status == 0);
  CHECK(cli({"verify", ds}).out == "ok: 4200 samples in 2 tensors checked (version 4)\n");
  CHECK(cli({"repair", ds}).out.rfind("nothing to repair", 0) == 0);
}

TEST_CASE("repair of an emptied log keeps version 0 and names every lost version") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  build(ds);
  fs::resize_file(ds + "/commits.log", 0);
  auto r = cli({"repair", ds});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("lost:   versions 1-4") && Catch::Contains("unreadable"));
  for (auto& e : fs::directory_iterator(ds + "/chunks/blob"))
    CHECK(e.path().filename() == "notes.txt");  // every chunk file moved aside, the user's file kept
  CHECK(cli({"verify", ds}).out == "ok: 0 samples in 2 tensors checked (version 0)\n");
}
