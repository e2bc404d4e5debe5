// The ordinary dataset handle opened from a serialake:// URI (engine::open after
// enable_remote()), against a real `serialake serve` process.

#include <catch2/catch.hpp>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "actors/backend.hpp"
#include "serialake/dataset.hpp"
#include "serialake/handle_search.hpp"
#include "serialake/remote.hpp"
#include "tests/expect_code.hpp"
#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

const tensor_spec id_spec{"id", dtype::int64, "generic", shape_t{}};
const tensor_spec blob_spec{"blob", dtype::bytes, "generic", {}};

row make_row(int64_t id) {
  return {{"id", sample::scalar<int64_t>(dtype::int64, id)},
          {"blob", sample::of_bytes(std::string(1 + id % 200, static_cast<char>('a' + id % 26)))}};
}

dataset open_created(engine& eng, const std::string& uri, dataset_options o = {}) {
  o.create = true;
  dataset ds = eng.open(uri, o);
  ds.create_tensor(id_spec);
  ds.create_tensor(blob_spec);
  return ds;
}

}  // namespace

TEST_CASE("remote handle: appends from several threads get the indices where the server put them") {
  // Kills: a sender that reorders or drops ops, an index computed from the
  // wrong row of a batch (mixing first tensors), a flush that overtakes
  // appends queued before it, continuations that never run.
  enable_remote();
  server_process srv;
  const std::string uri = srv.uri("threads/ds");
  engine eng;
  dataset_options o;
  o.queue_bytes = 64 << 10;  // small: producers meet the bound, which acknowledgements free
  dataset ds = open_created(eng, uri, o);
  REQUIRE(ds.tensors().size() == 2);
  CHECK(ds.path() == uri);

  constexpr int threads = 4, per_thread = 600;
  std::mutex mtx;
  std::condition_variable cv;
  std::map<int64_t, uint64_t> index_of;  // id -> index its future reported
  int thens = 0;                         // guarded by mtx
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::vector<std::pair<int64_t, append_future>> fs;
      for (int i = 0; i < per_thread; ++i) {
        const int64_t id = t * per_thread + i;
        if (i % 3 == 2) {  // some through then(), the rest waited for
          ds.append_row(make_row(id)).then([&, id](append_future f) {
            const uint64_t x = f.get();
            {
              std::lock_guard<std::mutex> g(mtx);
              index_of[id] = x;
              ++thens;
            }
            cv.notify_all();
          });
        } else {
          fs.emplace_back(id, ds.append_row(make_row(id)));
        }
      }
      uint64_t last = 0;
      for (size_t k = 0; k < fs.size(); ++k) {
        const uint64_t x = fs[k].second.get();
        if (k > 0) CHECK(x > last);  // one thread's appends land in its order
        last = x;
        std::lock_guard<std::mutex> g(mtx);
        index_of[fs[k].first] = x;
      }
    });
  for (auto& t : ts) t.join();
  commit_info ci = ds.flush();  // after every append: all committed
  CHECK(ci.version >= 1);
  CHECK(ds.peak_queued_bytes() <= o.queue_bytes);

  // One sample to a single tensor: its index in that tensor, then rows again.
  CHECK(ds.append("id", sample::scalar<int64_t>(dtype::int64, -1)).get() == threads * per_thread);
  ds.close();
  {
    std::unique_lock<std::mutex> lk(mtx);  // continuations run on the callback actor, after their futures completed
    REQUIRE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return thens == threads * (per_thread / 3); }));
    REQUIRE(index_of.size() == threads * per_thread);
  }

  // Read back through the server: every row where its future said.
  remote_dataset rd(uri);
  std::map<uint64_t, int64_t> served;
  rd.read(0, std::nullopt, {"id"}, [&](uint64_t i, row& r) { served[i] = r.at(0).second.as<int64_t>()[0]; });
  REQUIRE(served.size() == threads * per_thread + 1);
  for (auto& [id, index] : index_of) CHECK(served.at(index) == id);
  CHECK(served.at(threads * per_thread) == -1);
  CHECK(ids_on_disk(srv.root() / "threads/ds") == served);  // close committed all of it
}

TEST_CASE("remote handle: appends to different tensors in flight together each get their tensor's index") {
  // Kills: a batch whose appends start with different tensors, with indices
  // counted from its first row (a row after two blob samples would get 2, not 0).
  enable_remote();
  server_process srv;
  engine eng;
  dataset ds = open_created(eng, srv.uri("mixed"));
  std::vector<append_future> blobs, rows;
  for (int k = 0; k < 200; ++k) {
    blobs.push_back(ds.append("blob", sample::of_bytes("b")));
    rows.push_back(ds.append_row(make_row(k)));
  }
  for (int k = 0; k < 200; ++k) {
    CHECK(blobs[k].get() == static_cast<uint64_t>(2 * k));  // a blob sample, then a row's
    CHECK(rows[k].get() == static_cast<uint64_t>(k));       // the row's first tensor: id
  }
}

TEST_CASE("remote handle: a durable append is on the server's disk when its future completes") {
  // Kills: durable mode not reaching the server (a buffered ack comes before
  // the commit: the directory would not show the row yet).
  enable_remote();
  server_process srv;
  const std::string uri = srv.uri("durable");
  engine eng;
  dataset_options o;
  o.policy.mode = durability::durable;
  dataset ds = open_created(eng, uri, o);
  for (int i = 0; i < 5; ++i) {
    CHECK(ds.append_row(make_row(i)).get() == static_cast<uint64_t>(i));
    auto disk = ids_on_disk(srv.root() / "durable");
    CHECK(disk.size() == static_cast<size_t>(i + 1));
    CHECK(disk[i] == i);
  }
  auto log = ds.log(true);
  REQUIRE(!log.empty());
  CHECK(ds.commit("five rows").message == "five rows");
  CHECK(ds.log(false).back().message == "five rows");
}

TEST_CASE("engine::open of a URI: its errors carry their errc, unserved calls throw invalid_argument") {
  enable_remote();
  temp_dir keys;
  std::ofstream(keys / "token") << "tok-123\n";
  server_process srv({"--token-file", keys / "token"});
  const std::string uri = srv.uri("calls");
  engine eng;
  dataset_options good;
  good.remote.token = "tok-123";

  // Kills: a token not sent, or an open that does not check the dataset exists.
  CHECK(expect_code(errc::unauthenticated, [&] { eng.open(uri); }));
  dataset_options bad = good;
  bad.remote.token = "tok-124";
  CHECK(expect_code(errc::unauthenticated, [&] { eng.open(uri, bad); }));
  CHECK(expect_code(errc::not_found, [&] { eng.open(uri, good); }));
  CHECK(expect_code(errc::invalid_argument, [&] { eng.open(srv.uri("../out"), good); }));
  dataset_options pinned = good;
  pinned.version = 1;
  CHECK(expect_code(errc::invalid_argument, [&] { eng.open(uri, pinned); }));

  dataset ds = open_created(eng, uri, good);
  CHECK(expect_code(errc::already_exists, [&] { ds.create_tensor(id_spec); }));
  // Kills: an unserved call that crashes, hangs or reports another code.
  // (flush_async and commit_async are served, but complete before they return.)
  CHECK(expect_code(errc::invalid_argument, [&] { ds.snapshot(); }));
  CHECK(expect_code(errc::invalid_argument, [&] { ds.snapshot_async(); }));
  CHECK(expect_code(errc::invalid_argument, [&] { ds.refresh(); }));
  CHECK(expect_code(errc::invalid_argument, [&] { ds.subscribe([](const commit_event&) {}); }));
  CHECK(expect_code(errc::invalid_argument, [&] { search(ds, "id", query_batch{}); }));
  // A bad append fails alone, with the server's errc.
  CHECK(expect_code(errc::schema_mismatch, [&] { ds.append("id", sample::of_text("not a number")).get(); }));
  CHECK(ds.append_row(make_row(7)).get() == 0);

  // A read-only handle refuses appends itself.
  dataset_options ro = good;
  ro.read_only = true;
  dataset reader = eng.open(uri, ro);
  CHECK(expect_code(errc::read_only, [&] { reader.append_row(make_row(1)); }));

  ds.close();
  CHECK(expect_code(errc::closed, [&] { ds.append_row(make_row(8)); }));
  CHECK(expect_code(errc::closed, [&] { ds.flush(); }));
  CHECK(ids_on_disk(srv.root() / "calls").size() == 1);
}

TEST_CASE("engine::open of a URI without enable_remote() names what is missing") {
  // Kills: a URI taken for a directory (a dataset created at "serialake:").
  // As in a program that never called enable_remote() (this process may have,
  // in another test case): no client registered for the scheme.
  detail::register_backend("serialake://", nullptr);
  engine eng;
  dataset_options o;
  o.create = true;
  CHECK(expect_code(errc::invalid_argument, [&] { eng.open("serialake://127.0.0.1:1/x", o); }));
  CHECK_FALSE(std::filesystem::exists("serialake:"));
}

TEST_CASE("remote handle: a server that is not there fails the open with unavailable") {
  enable_remote();
  engine eng;
  dataset_options o;
  o.remote.deadline = std::chrono::milliseconds(3000);
  // Kills: an open that does not reach the server before it returns a handle.
  errc got = code_of([&] { eng.open("serialake://127.0.0.1:" + std::to_string(free_port()) + "/x", o); });
  CHECK((got == errc::unavailable || got == errc::timeout));
}

TEST_CASE("remote handle: a server killed mid-stream fails the unacknowledged appends and later ones, never hangs") {
  // Kills: ops left in the handle's queue with no sender once the stream
  // broke (their futures would wait forever), acknowledged durable rows lost.
  enable_remote();
  server_process srv;
  engine eng;
  dataset_options o;
  o.policy.mode = durability::durable;
  dataset ds = open_created(eng, srv.uri("killed"), o);
  CHECK(ds.append_row(make_row(0)).get() == 0);
  std::vector<append_future> fs;
  for (int i = 1; i < 2000; ++i) fs.push_back(ds.append_row(make_row(i)));
  srv.proc().kill(SIGKILL);
  srv.proc().wait();
  std::set<int64_t> acked{0};
  for (size_t k = 0; k < fs.size(); ++k) {
    REQUIRE(fs[k].wait_for(std::chrono::seconds(30)));
    errc got = code_of([&] { fs[k].get(); });
    CHECK((got == errc{} || got == errc::unavailable));
    if (got == errc{}) acked.insert(static_cast<int64_t>(k + 1));
  }
  // After the break: refused, at once or through the future, never left waiting.
  for (int i = 0; i < 50; ++i) {
    errc got = code_of([&] {
      auto f = ds.append_row(make_row(5000 + i));
      REQUIRE(f.wait_for(std::chrono::seconds(30)));
      f.get();
    });
    CHECK(got == errc::unavailable);
  }
  CHECK(expect_code(errc::unavailable, [&] { ds.flush(); }));
  CHECK(expect_code(errc::unavailable, [&] { ds.close(); }));
  auto disk = ids_on_disk(srv.root() / "killed");
  for (int64_t id : acked) {  // index == id: one writer, in order
    REQUIRE(disk.count(static_cast<uint64_t>(id)));
    CHECK(disk[static_cast<uint64_t>(id)] == id);
  }
}
