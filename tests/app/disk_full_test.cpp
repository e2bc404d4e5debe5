// A real full disk: `serialake append` into a 16 MiB tmpfs until it fails. The
// failure must be clean (exit 74 naming the file), leave nothing half-written
// (verify clean, every commit before it readable), and once space is freed the
// next writer continues from the last commit. Needs root (to mount the tmpfs).

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;
namespace fs = std::filesystem;

namespace {

// A size-limited tmpfs at `at`, unmounted in the destructor whatever happens.
class tmpfs_mount {
 public:
  tmpfs_mount(const std::string& at, const char* size) : at_(at) {
    fs::create_directory(at);
    std::string opts = std::string("size=") + size;
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, opts.c_str()) != 0)
      why_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    else
      mounted_ = true;
  }
  ~tmpfs_mount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::string at_, why_;
  bool mounted_ = false;
};

// A 16 MiB tmpfs at `at` holding a filler file of `filler_mib` MiB (made first,
// so the dataset cannot have that space; deleting it gives space back). Null,
// with a WARN saying why, if it cannot be mounted: the test then did not run.
std::unique_ptr<tmpfs_mount> full_disk(const std::string& at, int filler_mib) {
  if (::geteuid() != 0) {
    WARN("disk-full test not run: mounting a size-limited tmpfs needs root");
    return nullptr;
  }
  auto m = std::make_unique<tmpfs_mount>(at, "16m");
  if (!m->mounted()) {
    WARN("disk-full test not run: " << m->why());
    return nullptr;
  }
  std::ofstream(at + "/filler", std::ios::binary) << std::string(size_t(filler_mib) << 20, 'f');
  REQUIRE(fs::file_size(at + "/filler") == uintmax_t(filler_mib) << 20);
  return m;
}

}  // namespace

TEST_CASE("a full disk: exit 74 naming the file, nothing half-written, the next writer continues") {
  temp_dir dir;
  const std::string mnt = dir / "mnt";
  auto m = full_disk(mnt, 3);
  if (!m) return;
  const std::string filler = mnt + "/filler";

  const std::string ds = mnt + "/ds";
  REQUIRE(cli({"create", ds, "--tensor", "id:int64", "--tensor", "blob:bytes"}).status == 0);
  // Appends of about 1 MiB, durable and buffered in turn, until one fails.
  int per = 0;
  size_t size = 0;
  SECTION("samples in chunk files: 32 rows of 32 KiB, past the 1 MiB write buffer") {
    per = 32;
    size = 32 << 10;
  }
  SECTION("samples in the log: 450 rows of 2000 bytes, each commit one writev to commits.log") {
    per = 450;
    size = 2000;
  }
  int committed = 0;
  cli_result failed;
  for (int k = 0; k < 40; ++k) {
    std::vector<std::string> args{"append", ds};
    if (k % 2) args.push_back("--durable");
    auto r = cli(args, blob_rows(committed, per, size));
    if (r.status != 0) {
      failed = r;
      break;
    }
    committed += per;
  }
  INFO("committed " << committed << " rows; the failed append said: " << failed.err);
  REQUIRE(committed > 0);
  // Kills: an ENOSPC reported as an internal error (70), as corruption (65), or
  // swallowed (0: the loop would run out with no failure at all).
  REQUIRE(failed.status == 74);
  CHECK_THAT(failed.err, Catch::StartsWith("serialake: ") && Catch::Contains(ds + "/"));
  CHECK(lines_of(failed.err).size() == 1);

  // Nothing half-written: the failed append committed none of its rows (it is
  // all-or-nothing), its partial bytes are no damage, every commit reads back.
  // Kills: a torn record left behind a clean close (damage, exit 65), a partial
  // append made visible, a commit lost to the failure.
  auto v = cli({"verify", ds});
  INFO(v.out << v.err);
  CHECK(v.status == 0);
  CHECK_THAT(v.out, Catch::StartsWith("ok: " + std::to_string(2 * committed) + " samples"));
  CHECK(cli({"cat", ds}).out == blob_rows(0, committed, size));

  // Space comes back: the next writer continues from the last commit.
  // Kills: a failed writer that leaves the lock, the mark or the log in a state
  // the next writer refuses.
  fs::remove(filler);
  auto more = cli({"append", ds, "--durable"}, blob_rows(committed, per, size));
  INFO(more.err);
  REQUIRE(more.status == 0);
  auto v2 = cli({"verify", ds});
  CHECK(v2.status == 0);
  CHECK_THAT(v2.out, Catch::StartsWith("ok: " + std::to_string(2 * (committed + per)) + " samples"));
  CHECK(cli({"cat", ds}).out == blob_rows(0, committed + per, size));
}

TEST_CASE("a full disk during ingest: exit 74 saying how many files were committed, --resume adds the rest") {
  temp_dir dir;
  const std::string mnt = dir / "mnt";
  auto m = full_disk(mnt, 6);
  if (!m) return;
  // 3 classes of 80 files of 50 KiB (12 MiB): more than the 10 MiB left, less
  // than 16. The first class goes in before the disk fills.
  const std::string src = dir / "src";
  std::set<std::string> files;
  auto make_class = [&](int c) {
    for (int i = 0; i < 80; ++i) {
      std::string rel = "class" + std::to_string(c) + "/img" + std::to_string(i) + ".jpg";
      fs::create_directories(fs::path(src + "/" + rel).parent_path());
      std::ofstream(src + "/" + rel, std::ios::binary) << std::string(50 << 10, char(c * 80 + i));
      files.insert(rel);
    }
  };
  auto stored = [&](const std::string& ds) {
    std::multiset<std::string> got;
    for (auto& l : lines_of(cli({"cat", ds, "--tensor", "path"}).out))
      got.insert(nlohmann::json::parse(l)["path"].get<std::string>());
    return got;
  };
  const std::string ds = mnt + "/ds";
  make_class(0);
  REQUIRE(cli({"ingest", src, ds}).status == 0);
  make_class(1);
  make_class(2);
  auto full = cli({"ingest", src, ds, "--resume", "--threads", "2"});
  INFO(full.err);
  // Kills: a full disk reported as anything but an I/O error naming the file,
  // or a count of committed files that is not what the dataset holds.
  REQUIRE(full.status == 74);
  CHECK_THAT(full.err, Catch::Contains(ds + "/") && Catch::Contains("--resume"));
  auto at = full.err.find(" of 160 files were committed");
  REQUIRE(at != std::string::npos);
  const size_t said = std::stoul(full.err.substr(full.err.rfind(' ', at - 1) + 1));
  // Nothing half-written: verify is clean, the first ingest's rows are all
  // there, and the rest holds exactly the files the error said.
  CHECK(cli({"verify", ds}).status == 0);
  auto got = stored(ds);
  CHECK(got.size() == 80 + said);
  for (int i = 0; i < 80; ++i) CHECK(got.count("class0/img" + std::to_string(i) + ".jpg") == 1);

  fs::remove(mnt + "/filler");
  auto rest = cli({"ingest", src, ds, "--resume"});
  INFO(rest.err);
  REQUIRE(rest.status == 0);
  CHECK(cli({"verify", ds}).status == 0);
  // Kills: a resume that stores a committed file again or skips one.
  got = stored(ds);
  CHECK(got.size() == files.size());
  CHECK(std::set<std::string>(got.begin(), got.end()) == files);
}
