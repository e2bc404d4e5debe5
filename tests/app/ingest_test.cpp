// `serialake ingest` of a generated image-folder tree.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
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
                                      serialake::base64_decode(j["file"].get<std::string>())})
                     .second;
    INFO(j["path"]);
    CHECK(fresh);
  }
  return out;
}

// The samples of text tensor `tensor`, in row order.
std::vector<std::string> column(const std::string& ds, const std::string& tensor) {
  auto r = cli({"cat", ds, "--tensor", tensor});
  REQUIRE(r.status == 0);
  std::vector<std::string> out;
  for (auto& l : lines_of(r.out)) out.push_back(nlohmann::json::parse(l)[tensor]);
  return out;
}

}  // namespace

TEST_CASE("ingest of a generated tree holds every file exactly once with its bytes and label") {
  temp_dir dir;
  const fs::path src = dir / "src";
  auto files = make_tree(src, {"b_dogs", "a_cats", "c_birds"}, 40, 7);
  // Not part of the data, and not reported: hidden files and folders.
  write_file(src / "a_cats/.DS_Store", "finder junk");
  write_file(src / "b_dogs/.git/objects/x", "a hidden folder");
  fs::create_directories(src / ".cache/x");

  const std::string ds = dir / "pets";
  auto r = cli({"ingest", src.string(), ds, "--threads", "4"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Matches("ingested 120 files \\([0-9.]+ MiB\\) in [0-9.]+ s: [0-9]+ files/s, "
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

// Kills: fs::relative (a linked class folder's files are stored as
// "../outside/pics/x.jpg") and not following a link to a folder inside a class.
TEST_CASE("ingest stores linked files and folders under their path in SRC_DIR, not the target's") {
  temp_dir dir;
  const fs::path src = dir / "src", outside = dir / "outside";
  write_file(src / "a/1.jpg", "one");
  write_file(outside / "pics/x.jpg", "ex");
  write_file(outside / "pics/sub/y.jpg", "why");
  write_file(outside / "z.jpg", "zed");
  fs::create_symlink("../outside/pics", src / "linked");    // a class folder
  fs::create_symlink(outside / "z.jpg", src / "a/link.jpg");  // a file
  fs::create_symlink(outside / "pics", src / "a/sub");      // a folder inside a class

  const std::string ds = dir / "ds";
  auto r = cli({"ingest", src.string(), ds});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(column(ds, "path") == std::vector<std::string>{"a/1.jpg", "a/link.jpg", "a/sub/sub/y.jpg",
                                                       "a/sub/x.jpg", "linked/sub/y.jpg", "linked/x.jpg"});
  CHECK(column(ds, "class_names") == std::vector<std::string>{"a", "linked"});
  auto got = read_back(ds);
  CHECK(got["a/link.jpg"].bytes == "zed");
  CHECK(got["linked/sub/y.jpg"].bytes == "why");
  CHECK(got["linked/sub/y.jpg"].cls == "linked");
}

// Kills: passing over non-regular entries, dangling links or loose files
// silently; exit 0 when something was skipped; recording a class before any of
// its files is stored; rejecting (instead of escaping) a name that is not UTF-8.
TEST_CASE("ingest names every entry it does not store, exits 65, and stores the rest") {
  temp_dir dir;
  const fs::path src = dir / "src";
  write_file(src / "a/1.jpg", "one");
  write_file(src / "a/.DS_Store", "hidden: not data, not reported");
  write_file(src / "b/ok.jpg", "ok");
  write_file(src / "README.txt", "not in a class");
  fs::create_symlink(dir / "nowhere", src / "a/dangling.jpg");
  REQUIRE(::mkfifo((src / "a/pipe.jpg").c_str(), 0644) == 0);  // reading it would block
  fs::create_symlink("..", src / "a/loop");                     // a folder containing itself
  fs::create_directories(src / "c_empty");
  fs::create_symlink(dir / "nowhere", src / "c_empty/only.jpg");  // a class with no stored file
  write_file(src / "a/caf\xe9.jpg", "latin-1 name");
  write_file(src / "d\xff/x.jpg", "latin-1 class");
  std::vector<std::string> expected_err = {
      "serialake: not ingested: README.txt: not in a class folder (SRC_DIR/<class>/<file>)\n",
      "serialake: not ingested: a/dangling.jpg: dangling symbolic link\n",
      "serialake: not ingested: a/loop: symbolic link to a folder that contains it\n",
      "serialake: not ingested: a/pipe.jpg: a FIFO\n",
      "serialake: not ingested: c_empty/only.jpg: dangling symbolic link\n"};
  // A file whose read fails. Root reads a chmod 000 file, but not a write-only
  // sysfs attribute (its open fails with EACCES, whoever asks).
  const bool root = ::geteuid() == 0;
  if (!root) {
    write_file(src / "b/locked.jpg", "no read permission");
    fs::permissions(src / "b/locked.jpg", fs::perms::none);
    write_file(src / "b/closed/x.jpg", "in a folder that cannot be listed");
    fs::permissions(src / "b/closed", fs::perms::none);
    expected_err.push_back("serialake: not ingested: b/closed: cannot list folder: Permission denied\n");
  } else if (fs::exists("/sys/bus/pci/rescan")) {
    fs::create_symlink("/sys/bus/pci/rescan", src / "b/locked.jpg");
  }
  const bool unreadable = fs::exists(fs::symlink_status(src / "b/locked.jpg"));

  const std::string ds = dir / "ds";
  auto r = cli({"ingest", src.string(), ds, "--threads", "3"});
  if (!root) fs::permissions(src / "b/closed", fs::perms::owner_all);  // so temp_dir can remove it
  CHECK(r.status == 65);
  const size_t skipped = expected_err.size() + (unreadable ? 1 : 0);
  CHECK_THAT(r.out, Catch::Matches("ingested 4 files \\([0-9.]+ MiB\\) in [0-9.]+ s: [0-9]+ files/s, [0-9.]+ MiB/s; " +
                                   std::to_string(skipped) + " not ingested\n"));
  for (auto& line : expected_err) CHECK_THAT(r.err, Catch::Contains(line));
  if (unreadable) CHECK_THAT(r.err, Catch::Contains("serialake: not ingested: b/locked.jpg: cannot open "));
  CHECK_THAT(r.err, Catch::EndsWith("serialake: " + std::to_string(skipped) + " entries were not ingested (listed above)\n"));
  CHECK_THAT(r.err, !Catch::Contains(".DS_Store"));
  CHECK(lines_of(r.err).size() == skipped + 1);

  // Sorted stored paths: quoted (escaped) names sort first, so their classes
  // get the first labels.
  CHECK(column(ds, "path") == std::vector<std::string>{"\"a/caf\\xe9.jpg\"", "\"d\\xff/x.jpg\"", "a/1.jpg", "b/ok.jpg"});
  CHECK(column(ds, "class_names") == std::vector<std::string>{"a", "\"d\\xff\"", "b"});
  auto got = read_back(ds);
  CHECK(got["\"a/caf\\xe9.jpg\""].bytes == "latin-1 name");
  CHECK(got["\"a/caf\\xe9.jpg\""].cls == "a");
  CHECK(got["\"d\\xff/x.jpg\""].label == 1);
}

// Kills: reader threads appending their own rows (completion order).
TEST_CASE("ingest appends rows in sorted path order whatever the thread count") {
  temp_dir dir;
  make_tree(dir / "src", {"b_dogs", "a_cats", "c_birds"}, 60, 3);
  std::string first;
  for (const char* threads : {"1", "4", "7"}) {
    const std::string ds = dir / (std::string("ds") + threads);
    auto r = cli({"ingest", dir / "src", ds, "--threads", threads});
    REQUIRE(r.status == 0);
    auto rows = cli({"cat", ds, "--tensor", "path", "--tensor", "label", "--tensor", "file"}).out;
    if (first.empty()) first = rows;
    INFO("--threads " << threads);
    CHECK(rows == first);
  }
  auto paths = column(dir / "ds4", "path");
  CHECK(paths.size() == 180);
  CHECK(std::is_sorted(paths.begin(), paths.end()));
}

// Kills: --resume storing paths again, and labels recomputed from the sorted
// class names of this run (a_cats would become 0 and relabel b_dogs' rows).
TEST_CASE("ingest --resume stores only paths not stored yet, with the dataset's labels") {
  temp_dir dir;
  const fs::path src = dir / "src";
  auto files = make_tree(src, {"b_dogs", "c_birds"}, 10, 5);
  const std::string ds = dir / "ds";
  REQUIRE(cli({"ingest", src.string(), ds}).status == 0);
  for (auto& [rel, bytes] : make_tree(src, {"a_cats", "b_dogs"}, 3, 9, "new")) files[rel] = bytes;

  auto r = cli({"ingest", src.string(), ds, "--resume", "--threads", "3"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::StartsWith("ingested 6 files ") && Catch::EndsWith("; 20 already stored\n"));
  auto got = read_back(ds);  // fails on a path stored twice
  CHECK(got.size() == files.size());
  CHECK(column(ds, "class_names") == std::vector<std::string>{"b_dogs", "c_birds", "a_cats"});
  CHECK(got["a_cats/new1.jpg"].label == 2);
  CHECK(got["b_dogs/new1.jpg"].label == 0);
  CHECK(got["b_dogs/new1.jpg"].bytes == files["b_dogs/new1.jpg"]);

  const std::string before = cli({"cat", ds}).out;
  auto again = cli({"ingest", src.string(), ds, "--resume"});
  CHECK(again.status == 0);
  CHECK_THAT(again.out, Catch::StartsWith("ingested 0 files ") && Catch::EndsWith("; 26 already stored\n"));
  CHECK(cli({"cat", ds}).out == before);
}

// A dataset that fails mid-run: files past RLIMIT_FSIZE cannot be written.
// Kills: a summary counting rows appended (not committed), exiting 0 or 65.
TEST_CASE("ingest stopped by a failing dataset says how many files it committed, --resume adds the rest") {
  temp_dir dir;
  const fs::path src = dir / "src";
  write_file(src / "a/1.jpg", "first run");
  const std::string ds = dir / "ds";
  REQUIRE(cli({"ingest", src.string(), ds}).status == 0);
  write_file(src / "a/0.jpg", "small");
  write_file(src / "a/2.jpg", std::string(3 << 20, 'x'));  // over the limit below
  write_file(src / "a/3.jpg", "after it");

  // SIGXFSZ ignored: the write fails with EFBIG instead of killing the process.
  auto r = run_program("/bin/sh", {"-c", "trap '' XFSZ; ulimit -f 2048; exec \"$0\" \"$@\"", SERIALAKE_CLI,
                                   "ingest", src.string(), ds, "--resume"});
  INFO(r.out << r.err);
  CHECK(r.status == 74);
  auto paths = column(ds, "path");
  REQUIRE(paths.size() >= 1);
  const size_t committed = paths.size() - 1;
  CHECK_THAT(r.out, Catch::StartsWith("stopped early: committed " + std::to_string(committed) + " files ") &&
                        Catch::EndsWith("; 1 already stored\n"));
  CHECK_THAT(r.err, Catch::Contains("File too large") &&
                        Catch::Contains(std::to_string(committed) + " of 3 files were committed, rerun with --resume"));
  CHECK(committed <= 1);  // only a/0.jpg comes before the file that failed

  auto rest = cli({"ingest", src.string(), ds, "--resume"});
  INFO(rest.err);
  CHECK(rest.status == 0);
  CHECK(column(ds, "path") == std::vector<std::string>{"a/1.jpg", "a/0.jpg", "a/2.jpg", "a/3.jpg"});
  CHECK(cli({"verify", ds}).status == 0);
}
