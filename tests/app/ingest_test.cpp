// `serialake ingest` of a generated image-folder tree.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "app/cli/base64.hpp"
#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// Writes `per_class` random files (0-20 KiB, one empty) into each class folder;
// returns relative path -> bytes.
std::map<std::string, std::string> make_tree(const fs::path& root, const std::vector<std::string>& classes,
                                             int per_class, uint32_t seed,
                                             const std::string& stem = "img") {
  std::mt19937 rng(seed);
  std::map<std::string, std::string> files;
  for (auto& cls : classes) {
    for (int i = 0; i < per_class; ++i) {
      size_t size = i == 0 ? 0 : rng() % (20 << 10);
      std::string bytes(size, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      // Some files sit in a nested folder: they still belong to the class.
      std::string rel = cls + (i % 5 == 4 ? "/nested/deeper/" : "/") + stem + std::to_string(i) + ".jpg";
      write_file(root / rel, bytes);
      files[rel] = bytes;
    }
  }
  return files;
}

struct ingested {
  std::string cls;
  int64_t label;
  std::string bytes;
};

// path -> (label, bytes) of every row; fails on a duplicate path.
std::map<std::string, ingested> read_back(const std::string& ds) {
  auto names = cli({"cat", ds, "--tensor", "class_names"});
  REQUIRE(names.status == 0);
  std::vector<std::string> classes;
  for (auto& l : lines_of(names.out)) classes.push_back(nlohmann::json::parse(l)["class_names"]);
  auto r = cli({"cat", ds, "--tensor", "path", "--tensor", "label", "--tensor", "file"});
  REQUIRE(r.status == 0);
  std::map<std::string, ingested> out;
  for (auto& l : lines_of(r.out)) {
    auto j = nlohmann::json::parse(l);
    int64_t label = j["label"];
    REQUIRE(label >= 0);
    REQUIRE(static_cast<size_t>(label) < classes.size());
    bool fresh = out.emplace(j["path"].get<std::string>(),
                             ingested{classes[static_cast<size_t>(label)], label,
                                      serialake::cli::base64_decode(j["file"].get<std::string>())})
                     .second;
    INFO(j["path"]);
    CHECK(fresh);
  }
  return out;
}

}  // namespace

TEST_CASE("ingest of a generated tree holds every file exactly once with its bytes and label") {
  temp_dir dir;
  const fs::path src = dir / "src";
  auto files = make_tree(src, {"b_dogs", "a_cats", "c_birds"}, 40, 7);
  // Not part of the data: hidden files and folders, files outside any class.
  write_file(src / "README.txt", "not in a class");
  write_file(src / "a_cats/.DS_Store", "finder junk");
  write_file(src / "b_dogs/.git/objects/x", "a hidden folder");
  fs::create_directories(src / ".cache/x");

  const std::string ds = dir / "pets";
  auto r = cli({"ingest", src.string(), ds, "--threads", "4"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Matches("ingested 120 files \\([0-9.]+ MiB\\) in [0-9.]+ s: [0-9]+ samples/s, "
                                   "[0-9.]+ MiB/s\n"));
  CHECK(r.err.empty());  // no progress bar: stderr is not a terminal

  CHECK(cli({"cat", ds, "--tensor", "class_names"}).out ==
        "{\"class_names\":\"a_cats\"}\n{\"class_names\":\"b_dogs\"}\n{\"class_names\":\"c_birds\"}\n");
  auto got = read_back(ds);
  REQUIRE(got.size() == files.size());
  for (auto& [rel, bytes] : files) {
    INFO(rel);
    REQUIRE(got.count(rel));
    CHECK(got[rel].bytes == bytes);
    CHECK(got[rel].cls == rel.substr(0, rel.find('/')));
  }
  CHECK(cli({"verify", ds}).status == 0);

  SECTION("a second ingest keeps the existing labels and adds new classes") {
    const fs::path more = dir / "more";
    auto extra = make_tree(more, {"b_dogs", "d_fish"}, 3, 11, "more");
    auto again = cli({"ingest", more.string(), ds, "--threads", "2"});
    REQUIRE(again.status == 0);
    CHECK_THAT(again.out, Catch::StartsWith("ingested 6 files"));
    auto got2 = read_back(ds);
    CHECK(got2.size() == 126);
    CHECK(got2["d_fish/more1.jpg"].label == 3);
    CHECK(got2["d_fish/more1.jpg"].bytes == extra["d_fish/more1.jpg"]);
    CHECK(got2["b_dogs/more2.jpg"].label == 1);
    CHECK(got2["a_cats/img1.jpg"].label == 0);
  }
}

TEST_CASE("ingest refuses a source without classes and a dataset with other tensors") {
  temp_dir dir;
  fs::create_directories(dir / "empty");
  auto none = cli({"ingest", dir / "empty", dir / "ds"});
  CHECK(none.status == 65);
  CHECK_THAT(none.err, Catch::Contains("no class subfolders"));

  write_file(dir / "src/a/1.bin", "x");
  CHECK(cli({"ingest", dir / "src", dir / "ds", "--threads", "0"}).status == 64);
}

// Kills: creating each missing tensor while still checking the others (the
// dataset then gains `file` before `label` is found to be float32).
TEST_CASE("ingest into a dataset with a clashing tensor exits 65 and changes nothing") {
  temp_dir dir;
  write_file(dir / "src/a/1.bin", "x");
  const std::string ds = dir / "other";
  REQUIRE(cli({"create", ds, "--tensor", "path:text", "--tensor", "label:float32"}).status == 0);
  const std::string schema = slurp(ds + "/dataset.json"), log = slurp(ds + "/commits.log");
  const std::string info = cli({"info", ds, "--json"}).out;

  auto clash = cli({"ingest", dir / "src", ds});
  CHECK(clash.status == 65);
  CHECK(clash.out.empty());
  CHECK_THAT(clash.err, Catch::Contains("tensor 'label'") && Catch::Contains("is float32") &&
                            Catch::Contains("ingest needs int64"));
  CHECK(slurp(ds + "/dataset.json") == schema);
  CHECK(slurp(ds + "/commits.log") == log);
  CHECK(cli({"info", ds, "--json"}).out == info);
}
