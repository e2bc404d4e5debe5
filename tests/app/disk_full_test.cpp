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

}  // namespace

TEST_CASE("a full disk: exit 74 naming the file, nothing half-written, the next writer continues") {
  if (::geteuid() != 0) {
    WARN("disk-full test not run: mounting a size-limited tmpfs needs root");
    return;
  }
  temp_dir dir;
  const std::string mnt = dir / "mnt";
  tmpfs_mount m(mnt, "16m");
  if (!m.mounted()) {
    WARN("disk-full test not run: " << m.why());
    return;
  }
  // Space to give back later: made first, so the dataset cannot have it.
  const std::string filler = mnt + "/filler";
  std::ofstream(filler, std::ios::binary) << std::string(3 << 20, 'f');
  REQUIRE(fs::file_size(filler) == 3u << 20);

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
