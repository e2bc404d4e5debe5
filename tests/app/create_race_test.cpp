// Creating a dataset from several processes at once: exactly one create wins,
// and writers that create-if-missing all get in, one after the other.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;
namespace fs = std::filesystem;

TEST_CASE("two concurrent creates with different tensors: one exits 0, the other 73, no merged schema") {
  temp_dir dir;
  for (int round = 0; round < 10; ++round) {
    const std::string ds = dir / ("rc" + std::to_string(round));
    cli_process a({"create", ds, "--tensor", "a:int8"});
    cli_process b({"create", ds, "--tensor", "b:int8"});
    auto ra = a.finish(""), rb = b.finish("");
    // Kills: a create that writes the schema in place before it holds anything.
    CHECK(ra.status + rb.status == 73);
    CHECK(((ra.status == 73 || rb.status == 73) &&
           (ra.err + rb.err).find("a dataset already exists at " + ds) != std::string::npos));
    auto info = cli({"info", ds, "--json"});
    REQUIRE(info.status == 0);
    const bool has_a = info.out.find("\"name\": \"a\"") != std::string::npos;
    const bool has_b = info.out.find("\"name\": \"b\"") != std::string::npos;
    CHECK(has_a != has_b);
  }
}

TEST_CASE("two concurrent ingests into a new path with --lock-timeout both succeed, one after the other") {
  temp_dir dir;
  for (int c = 0; c < 2; ++c) {
    fs::create_directories(dir / ("src/class" + std::to_string(c)));
    for (int i = 0; i < 50; ++i)
      std::ofstream(dir / ("src/class" + std::to_string(c) + "/f" + std::to_string(i) + ".bin"))
          << std::string(1000 + i, static_cast<char>('a' + c));
  }
  for (int round = 0; round < 4; ++round) {
    const std::string ds = dir / ("new" + std::to_string(round));
    cli_process a({"ingest", dir / "src", ds, "--lock-timeout", "10"});
    cli_process b({"ingest", dir / "src", ds, "--lock-timeout", "10"});
    auto ra = a.finish(""), rb = b.finish("");
    // Kills: create racing the other writer's recovery ("no dataset at", or a
    // failed rename of dataset.json.tmp).
    INFO(ra.err << rb.err);
    CHECK(ra.status == 0);
    CHECK(rb.status == 0);
    // Both ran whole: 2 x 100 files in file, label and path, 2 class names.
    CHECK(cli({"verify", ds}).out.find("ok: 602 samples in 4 tensors") == 0);
  }
}

TEST_CASE("small appends leave no empty chunk files behind") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "id:int64", "--tensor", "blob:bytes"}).status == 0);
  for (int i = 0; i < 3; ++i) REQUIRE(cli({"append", ds}, blob_rows(i * 5, 5, 100)).status == 0);
  // Kills: a chunk file created when a session starts rather than by its first write.
  for (auto& e : fs::recursive_directory_iterator(ds + "/chunks"))
    if (e.is_regular_file()) CHECK(e.file_size() > 0);
  CHECK(cli({"verify", ds}).out == "ok: 30 samples in 2 tensors checked (version 3)\n");
}

TEST_CASE("create on a non-empty folder that is not a dataset says so (73) and leaves it alone") {
  temp_dir dir;
  const std::string folder = dir / "photos";
  fs::create_directories(folder);
  std::ofstream(folder + "/cat.jpg") << "meow";
  auto r = cli({"create", folder, "--tensor", "x:int8"});
  // Kills: the old path that created in place and then failed with "no dataset at".
  CHECK(r.status == 73);
  CHECK(r.err == "serialake: cannot create dataset: " + folder + " exists and is not an empty directory\n");
  CHECK(fs::exists(folder + "/cat.jpg"));
  CHECK_FALSE(fs::exists(folder + "/dataset.json"));
}
