// Read-only never writes: store::open(read_only), engine::open(read_only) and the
// CLI read commands (cat, info, verify, log, export) leave every byte, name and
// mtime of a dataset as they found it, whatever state it is in (healthy, torn by
// a writer that died mid-commit, damaged, locked by a live writer), and work the
// same when the directory cannot be written at all (a read-only bind mount as
// root, chmod -w otherwise).

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "serialake/dataset.hpp"
#include "core/format.hpp"
#include "core/store.hpp"
#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using namespace serialake::test;
namespace fs = std::filesystem;

namespace {

// Every entry under `root` (root included): type, size, content hash and mtime
// in ns. Not atime: reading may change it.
std::map<std::string, std::string> tree_state(const std::string& root) {
  std::map<std::string, std::string> out;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    std::string content = S_ISREG(st.st_mode) ? slurp(p) : "";
    out[fs::relative(p, root).string()] =
        std::to_string(st.st_mode & S_IFMT) + " " + std::to_string(st.st_size) + " " +
        std::to_string(format::hash(content.data(), content.size())) + " " +
        std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  };
  add(root);
  for (auto& e : fs::recursive_directory_iterator(root)) add(e.path());
  return out;
}

row make_row(int64_t i) {
  row r;
  r.emplace_back("n", sample::scalar<int64_t>(dtype::int64, i));
  r.emplace_back("emb", sample::of<float>(dtype::float32, {float(i), 1, 2, 3}, {4}));
  r.emplace_back("blob", sample::of_bytes(std::string(size_t(i * 37 % 3000), char(i))));
  r.emplace_back("caption", sample::of_text("row " + std::to_string(i)));
  return r;
}

// A small write buffer sends commits to chunk files as well as the log.
store_options small_buffers() {
  store_options o;
  o.write_buffer_bytes = 4096;
  o.chunk_bytes = 64 << 10;
  return o;
}

// 3 commits of 50 rows (the second named), closed cleanly.
void build_healthy(const std::string& ds) {
  auto s = store::create(ds, small_buffers(),
                         {{"n", dtype::int64, "class_label", shape_t{}},
                          {"emb", dtype::float32, "embedding", shape_t{4}},
                          {"blob", dtype::bytes, "generic", {}},
                          {"caption", dtype::text, "text", {}}});
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 50; ++i) s->append_row(make_row(c * 50 + i));
    s->commit(c == 1 ? "named" : "");
  }
  s->close();
}

// A writer process commits twice more, leaves rows it never commits in chunk
// files, and dies without closing (commits.mark still open); then its last
// record is cut short, as a crash mid-commit leaves it.
void build_torn(const std::string& ds) {
  build_healthy(ds);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      open_options oo;
      oo.tuning = small_buffers();
      auto s = store::open(ds, oo);
      for (int c = 3; c < 5; ++c) {
        for (int i = 0; i < 50; ++i) s->append_row(make_row(c * 50 + i));
        s->commit();
      }
      for (int i = 250; i < 400; ++i) s->append_row(make_row(i));
      ::_exit(0);  // no destructor: the session stays open, as after a SIGKILL
    } catch (...) {
      ::_exit(1);
    }
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  const std::string log = ds + "/" + format::log_file;
  fs::resize_file(log, fs::file_size(log) - 5);
  auto s = store::open(ds, {true, {}, {}, {}});
  REQUIRE(s->version() == 4);  // the torn fifth commit is not shown...
  REQUIRE_FALSE(s->damage());  // ...and is no damage
}

// The log cut below what commits.mark recorded at the clean close.
void build_damaged(const std::string& ds) {
  build_healthy(ds);
  const std::string log = ds + "/" + format::log_file;
  fs::resize_file(log, fs::file_size(log) / 2);
  REQUIRE(store::open(ds, {true, {}, {}, {}})->damage());
}

// Makes `ds` unwritable for the readers: a read-only bind mount of it at `at`
// (as root, where permissions stop nothing), else chmod -w of the whole tree.
// Undone in the destructor, whatever the test's outcome.
class unwritable {
 public:
  unwritable(const std::string& ds, const std::string& at) : ds_(ds) {
    if (::geteuid() == 0) {
      fs::create_directory(at);
      if (::mount(ds.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        why_ = std::string("mount --bind failed: ") + std::strerror(errno);
        return;
      }
      mounted_ = at;
      if (::mount(nullptr, at.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
        why_ = std::string("remount,ro,bind failed: ") + std::strerror(errno);
        return;
      }
      if (::access(at.c_str(), W_OK) == 0) {
        why_ = "the bind mount at " + at + " is still writable";
        return;
      }
      path_ = at;
    } else {
      for (auto& e : fs::recursive_directory_iterator(ds)) chmod_w(e.path(), true);
      chmod_w(ds, true);
      chmodded_ = true;
      if (::access(ds.c_str(), W_OK) == 0) {
        why_ = "chmod -w did not make " + ds + " unwritable";
        return;
      }
      path_ = ds;
    }
  }
  ~unwritable() {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
    if (chmodded_) {
      chmod_w(ds_, false);
      for (auto& e : fs::recursive_directory_iterator(ds_)) chmod_w(e.path(), false);
    }
  }
  /// Where to read the unwritable dataset; empty if it could not be made (why()).
  const std::string& path() const { return path_; }
  const std::string& why() const { return why_; }

 private:
  static void chmod_w(const fs::path& p, bool remove) {
    auto w = fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
    fs::permissions(p, w, remove ? fs::perm_options::remove : fs::perm_options::add);
  }
  std::string ds_, mounted_, path_, why_;
  bool chmodded_ = false;
};

// Runs every read-only reader on `ds`; returns what each saw, to compare a run
// on the writable directory with one on the unwritable one. CLI read commands
// must exit `want` (0, or 65 on a damaged log).
std::vector<std::string> run_readers(const std::string& ds, const std::string& npy, int want) {
  std::vector<std::string> seen;
  {
    auto s = store::open(ds, {true, {}, {}, {}});
    auto snap = s->snapshot();
    for (auto& t : snap->tensors())
      for (uint64_t i = 0; i < snap->length(t.name); ++i) snap->read(t.name, i);
    seen.push_back("store v" + std::to_string(s->version()) + " problems " +
                   std::to_string(s->verify().size()) + " damage " + (s->damage() ? "yes" : "no") +
                   " log " + std::to_string(s->log(true).size()));
    s->refresh();
    store::open(ds, {true, 1, {}, {}})->snapshot();  // an older version
  }
  try {
    engine eng;
    dataset_options o;
    o.read_only = true;
    auto h = eng.open(ds, o);
    auto snap = h.snapshot();
    for (auto& t : snap->tensors())
      for (uint64_t i = 0; i < snap->length(t.name); ++i) snap->read(t.name, i);
    h.refresh();
    seen.push_back("engine v" + std::to_string(snap->version()) + " log " +
                   std::to_string(h.log(true).size()) + " tensors " + std::to_string(h.tensors().size()));
    h.close();
  } catch (const error& e) {
    seen.push_back(std::string("engine ") + to_string(e.code()));
  }
  std::vector<std::vector<std::string>> commands{
      {"cat", ds}, {"info", ds}, {"info", ds, "--json"}, {"verify", ds},
      {"log", ds, "--all"}, {"export", ds, "emb", "--npy", npy}};
  for (auto& args : commands) {
    auto r = test::cli(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.status == want);
    // What cat and verify print must not differ between runs (but for the path).
    std::string out = args[0] == "cat" || args[0] == "verify" ? r.out : "";
    for (size_t at; (at = out.find(ds)) != std::string::npos;) out.replace(at, ds.size(), "DS");
    seen.push_back(args[0] + " " + std::to_string(r.status) + " " +
                   std::to_string(format::hash(out.data(), out.size())));
  }
  if (want == 0) CHECK(slurp(npy).size() >= 150 * 4 * sizeof(float));  // export did run
  fs::remove(npy);
  return seen;
}

// The check for one dataset: the tree is unchanged by every reader, and the
// readers see the same on an unwritable copy (a reader that tried to write
// would fail there).
void check_read_only(const temp_dir& dir, const std::string& ds, int want) {
  const auto before = tree_state(ds);
  auto seen = run_readers(ds, dir / "out.npy", want);
  // Kills: a read-only open that runs recovery (cuts the torn tail, removes a
  // dead session's chunks, rewrites commits.mark), takes the lock (creates or
  // rewrites the lock file), or leaves temp files.
  CHECK(tree_state(ds) == before);
  {
    unwritable ro(ds, dir / "ro");
    if (ro.path().empty()) {
      WARN("not checked on an unwritable directory: " << ro.why());
    } else {
      // Kills: any write attempt by a reader (EROFS/EACCES turns into an error).
      CHECK(run_readers(ro.path(), dir / "out.npy", want) == seen);
    }
  }
  CHECK(tree_state(ds) == before);
}

}  // namespace

TEST_CASE("read-only opens and CLI read commands never write into a dataset") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  SECTION("healthy") {
    build_healthy(ds);
    check_read_only(dir, ds, 0);
  }
  SECTION("torn: a writer died mid-commit") {
    build_torn(ds);
    check_read_only(dir, ds, 0);
    // The readers had something to leave alone: a writer's open does change it.
    const auto before = tree_state(ds);
    store::open(ds)->close();
    CHECK(tree_state(ds) != before);
  }
  SECTION("damaged: the log is cut below commits.mark") {
    build_damaged(ds);
    check_read_only(dir, ds, 65);
  }
  SECTION("locked by a live writer") {
    build_healthy(ds);
    holder h(ds);
    // Stopped, it still holds the lock but no heartbeat changes the lock file
    // while the trees are compared.
    h.p.kill(SIGSTOP);
    CHECK_THAT(test::cli({"info", ds}).out, Catch::Contains("writer pid " + std::to_string(h.p.pid())));
    check_read_only(dir, ds, 0);
    h.p.kill(SIGCONT);
    CHECK(h.p.finish().status == 0);
  }
}
