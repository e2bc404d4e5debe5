// Injected I/O faults: each operation (create, create_tensor, small and large
// commits, buffered appends, close, recovery, the lock file, snapshot reads) is run once per
// file-layer call it makes, with that call failing (EIO, ENOSPC) or cut short
// (a short count alone, which must be carried on, or followed by ENOSPC). Each
// time: a failure is errc::io naming the file; a store that failed refuses
// every later write; snapshots stay readable; reopening shows exactly the last
// commit that returned, verify clean, no damage, and a writer can open it.
//
// Kills: a write loop that takes a short count for done (a half record
// acknowledged), a failed commit whose record stays in the log, create_tensor
// going on after a failed sync, an I/O error taken for a missing lock.break.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <mutex>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/lock_file.hpp"
#include "core/store.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::expect_code;
using serialake::test::temp_dir;
namespace fs = std::filesystem;

namespace {

enum class mode { eio, enospc, short_count, short_then_enospc };
const char* name_of(mode m) {
  const char* names[] = {"EIO", "ENOSPC", "short count", "short count then ENOSPC"};
  return names[static_cast<int>(m)];
}

std::string payload(uint64_t i) { return "x" + std::to_string(i) + std::string(100 + i % 300, 'p'); }

// What the dataset must show once the operation is over.
struct expected {
  bool created = true;
  uint64_t version = 0;
  uint64_t nx = 0;
};

// The call that was made to fail, if any.
struct hit {
  io::op kind;
  std::string path;
  std::string site;  // file:line in core
  bool data = false;  // a write or read: a short count applies
  bool releasing = false;  // made by a lock's release, which absorbs failures
};

// Set while the lock file walk releases its lock: a failure there is absorbed
// by design (the content stays "held" by a process without the flock, and the
// next writer takes it over at once).
std::atomic<bool> releasing{false};

// Counts every call; makes the k-th fail as `m` says (k = 0: none fails).
class injector {
 public:
  injector(uint64_t k, mode m) : k_(k), m_(m) {}
  io::fault operator()(const io::call& c) {
    const uint64_t i = ++calls_;  // atomic: a sync group's syncs run at once
    const bool data = c.kind == io::op::write || c.kind == io::op::read;
    std::lock_guard<std::mutex> g(mtx_);
    kinds_.push_back(data);
    if (i != k_) return {};
    const bool fails = m_ == mode::eio || m_ == mode::enospc;
    if (!fails && (!data || c.bytes == 0)) return {};  // a short count needs bytes to cut
    hit_ = hit{c.kind, c.path, fs::path(c.at.file).filename().string() + ":" + std::to_string(c.at.line),
               data, releasing.load()};
    if (fails) return io::fault{m_ == mode::eio ? EIO : ENOSPC};
    return io::fault{m_ == mode::short_count ? 0 : ENOSPC, c.bytes / 2};
  }
  std::optional<hit> fired() const {
    std::lock_guard<std::mutex> g(mtx_);
    return hit_;
  }
  std::vector<bool> data_calls() const {
    std::lock_guard<std::mutex> g(mtx_);
    return kinds_;
  }

 private:
  const uint64_t k_;
  const mode m_;
  std::atomic<uint64_t> calls_{0};
  mutable std::mutex mtx_;
  std::optional<hit> hit_;
  std::vector<bool> kinds_;  // per call: a write or read
};

store_options tuning() {
  store_options o;
  o.chunk_bytes = 4096;
  o.write_buffer_bytes = 1024;
  return o;
}

// A dataset with tensor x and two commits (a small one in the log, a larger one
// in chunks); its writer is returned open.
std::unique_ptr<store> prepared(const std::string& ds, expected& e) {
  auto s = store::create(ds, tuning(), {{"x", dtype::bytes, "generic", {}}});
  auto add = [&](int n) {
    for (int i = 0; i < n; ++i) s->append("x", sample::of_bytes(payload(e.nx++)));
    s->commit();
    e.version++;
  };
  add(2);
  add(30);
  return s;
}

void append_x(store& s, expected& e, int n, uint64_t* pending) {
  for (int i = 0; i < n; ++i) s.append("x", sample::of_bytes(payload(e.nx + (*pending)++)));
}

// One operation to walk: builds its starting point, then runs under faults.
struct operation {
  const char* name;
  // Without faults: the starting dataset; may leave a writer open in `s`.
  std::function<void(const std::string& ds, std::unique_ptr<store>& s, expected& e)> prepare;
  // Under faults; updates `e` only once a commit (or create) has returned.
  std::function<void(const std::string& ds, std::unique_ptr<store>& s, expected& e)> run;
  // Only reads: a failure must not stop the writer.
  bool reads_only = false;
};

void commit_after(store& s, expected& e, uint64_t pending) {
  s.commit();
  e.version++;
  e.nx += pending;
}

std::vector<operation> operations() {
  auto just_prepared = [](const std::string& ds, std::unique_ptr<store>& s, expected& e) {
    s = prepared(ds, e);
  };
  return {
    {"create", [](auto&, auto&, expected& e) { e.created = false; },
     [](const std::string& ds, std::unique_ptr<store>& s, expected& e) {
       s = store::create(ds, tuning(), {{"x", dtype::bytes, "generic", {}}});
       e.created = true;
     }},
    {"create_tensor", just_prepared,
     [](auto&, std::unique_ptr<store>& s, auto&) { s->create_tensor({"y", dtype::bytes, "generic", {}}); }},
    {"small commit", just_prepared,
     [](auto&, std::unique_ptr<store>& s, expected& e) {
       uint64_t pending = 0;
       append_x(*s, e, 3, &pending);
       commit_after(*s, e, pending);
     }},
    {"large commit", just_prepared,
     [](auto&, std::unique_ptr<store>& s, expected& e) {
       uint64_t pending = 0;
       append_x(*s, e, 40, &pending);  // seals a chunk, starts new ones
       commit_after(*s, e, pending);
     }},
    {"buffered appends, then commit", just_prepared,
     [](auto&, std::unique_ptr<store>& s, expected& e) {
       uint64_t pending = 0;
       append_x(*s, e, 20, &pending);  // buffers fill and go to chunks
       commit_after(*s, e, pending);
       pending = 0;
       append_x(*s, e, 20, &pending);
       commit_after(*s, e, pending);
     }},
    {"close", [](const std::string& ds, std::unique_ptr<store>& s, expected& e) {
       s = prepared(ds, e);
       uint64_t pending = 0;
       append_x(*s, e, 20, &pending);  // never committed: close removes its chunks
     },
     [](auto&, std::unique_ptr<store>& s, auto&) { s->close(); }},
    {"recovery", [](const std::string& ds, std::unique_ptr<store>& s, expected& e) {
       s = prepared(ds, e);
       uint64_t pending = 0;
       append_x(*s, e, 20, &pending);
       // The writer dies: its files stay as they are, with a torn tail and a
       // temp schema file, and the next writer opens it.
       fs::copy(ds, ds + ".dead", fs::copy_options::recursive);
       s.reset();
       fs::remove_all(ds);
       fs::rename(ds + ".dead", ds);
       std::ofstream(ds + "/commits.log", std::ios::app) << std::string(100, '\0');
       std::ofstream(ds + "/dataset.json.tmp") << "{";
     },
     [](const std::string& ds, std::unique_ptr<store>& s, auto&) { s = store::open(ds); }},
    {"lock file", [](const std::string& ds, std::unique_ptr<store>& s, expected& e) {
       s = prepared(ds, e);
       s.reset();
     },
     [](const std::string& ds, auto&, auto&) {
       auto l = file_lock_backend()->acquire(ds, lock_settings{});
       l->heartbeat();
       l->check();
       releasing = true;
       l->release();
       releasing = false;
     }},
    {"snapshot reads", just_prepared,
     [](auto&, std::unique_ptr<store>& s, const expected& e) {
       auto snap = s->snapshot();
       for (uint64_t i = 0; i < e.nx; ++i) {
         std::string got = snap->read("x", i).data;  // an error goes to the walk, not to Catch
         REQUIRE(got == payload(i));
       }
     },
     true},
  };
}

// What must hold once `op` ran with `inj` installed.
void check_after(const operation& op, const std::string& ds, std::unique_ptr<store>& s,
                 const std::shared_ptr<const snapshot>& before, expected e,
                 const std::optional<error>& failure, const injector& inj) {
  auto h = inj.fired();
  if (failure) {
    REQUIRE(h);  // nothing fails on its own
    CHECK(failure->code() == errc::io);
    CHECK_THAT(failure->message(), Catch::Contains(h->path));
    if (s && !op.reads_only) {  // no silent retry: every later write is refused
      // With the failure's code; after a close, the store is closed whatever happened.
      const errc refused = std::string(op.name) == "close" ? errc::closed : errc::io;
      CHECK(expect_code(refused, [&] { s->append("x", sample::of_bytes("after")); }));
      CHECK(expect_code(refused, [&] { s->commit("again"); }));
      CHECK(expect_code(refused, [&] { s->create_tensor({"z", dtype::bytes, "generic", {}}); }));
    }
  }
  if (s && op.reads_only) {  // a failed read stops nothing: the writer goes on
    s->append("x", sample::of_bytes(payload(e.nx)));
    s->commit();
    ++e.version;
    ++e.nx;
  }
  if (before)  // snapshots stay readable
    for (uint64_t i = 0; i < before->length("x"); ++i) REQUIRE(before->read("x", i).data == payload(i));
  s.reset();
  for (auto& f : fs::directory_iterator(fs::path(ds).parent_path()))
    CHECK(f.path().filename().string().find(".creating-") == std::string::npos);
  if (!e.created && !fs::exists(ds + "/dataset.json")) return;  // a failed create left nothing
  auto shows_last_commit = [&] {
    auto r = store::open(ds, {true, {}, {}, {}});
    CHECK_FALSE(r->damage());
    REQUIRE(r->version() == e.version);
    REQUIRE(r->snapshot()->length("x") == e.nx);
    for (uint64_t i = 0; i < e.nx; ++i) REQUIRE(r->snapshot()->read("x", i).data == payload(i));
    CHECK(r->verify().empty());
  };
  shows_last_commit();
  { auto w = store::open(ds); }
  shows_last_commit();
  if (std::string(op.name) == "lock file") {
    // Never left stuck: a lock file torn by a failed write reads as held
    // until its validity passes (lock_file.hpp), then it is taken over.
    lock_settings quick;
    quick.validity = std::chrono::milliseconds(50);
    quick.timeout = std::chrono::seconds(5);
    CHECK(file_lock_backend()->acquire(ds, quick));
  }
}

}  // namespace

TEST_CASE("every file-layer call of each operation fails in turn, and the dataset stays whole") {
  std::map<std::string, uint64_t> per_site;  // faults injected per call site
  uint64_t injected = 0, failed = 0, carried_on = 0, absorbed = 0;
  for (const operation& op : operations()) {
    // A first run without faults counts the calls and which move bytes.
    std::vector<bool> data_calls;
    {
      temp_dir d;
      std::unique_ptr<store> s;
      expected e;
      op.prepare(d / "ds", s, e);
      auto inj = std::make_shared<injector>(0, mode::eio);
      {
        io::fault_guard g([inj](const io::call& c) { return (*inj)(c); });
        op.run(d / "ds", s, e);
      }
      data_calls = inj->data_calls();
    }
    REQUIRE(!data_calls.empty());
    for (mode m : {mode::eio, mode::enospc, mode::short_count, mode::short_then_enospc}) {
      for (uint64_t k = 1; k <= data_calls.size(); ++k) {
        if ((m == mode::short_count || m == mode::short_then_enospc) && !data_calls[k - 1]) continue;
        INFO(op.name << ": call " << k << " of " << data_calls.size() << ", " << name_of(m));
        temp_dir d;
        const std::string ds = d / "ds";
        std::unique_ptr<store> s;
        expected e;
        op.prepare(ds, s, e);
        auto before = s ? s->snapshot() : nullptr;
        auto inj = std::make_shared<injector>(k, m);
        std::optional<error> failure;
        {
          io::fault_guard g([inj](const io::call& c) { return (*inj)(c); });
          try {
            op.run(ds, s, e);
          } catch (const error& x) {
            failure = x;
          }
        }
        releasing = false;
        auto h = inj->fired();
        if (h) {
          INFO("failed call: " << h->site << " on " << h->path);
          ++injected;
          ++per_site[h->site];
          const bool must_fail = m != mode::short_count || !h->data;
          if (m == mode::short_count) CHECK_FALSE(failure);  // carried on
          else if (must_fail && !h->releasing) CHECK(failure);
          ++(failure ? failed : h->releasing ? absorbed : carried_on);
        }
        check_after(op, ds, s, before, e, failure, *inj);
      }
    }
  }
  std::ostringstream sites;
  for (auto& [site, n] : per_site) sites << "\n  " << site << ": " << n;
  WARN("faults injected: " << injected << " (" << failed << " failed with errc::io, " << carried_on
       << " short counts carried on, " << absorbed << " absorbed by a lock release), distinct call sites: "
       << per_site.size() << sites.str());
}
