// serialake serve and remote_dataset, end to end: a real server process, real
// clients (the C++ handle in this process, the CLI as other processes).

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "serialake/dataset.hpp"
#include "serialake/remote.hpp"
#include "tests/expect_code.hpp"
#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

const std::vector<tensor_spec> schema{{"id", dtype::int64, "generic", shape_t{}}, {"blob", dtype::bytes, "generic", {}}};

row make_row(int64_t id, size_t size = 100) {
  return {{"id", sample::scalar<int64_t>(dtype::int64, id)},
          {"blob", sample::of_bytes(std::string(size, static_cast<char>('a' + id % 26)))}};
}

}  // namespace

TEST_CASE("remote: rows appended through the server read back in order, through the handle and the CLI") {
  // Kills: a conversion that drops or reorders cells, a read that skips blocks,
  // a reply index not matching where the rows landed.
  server_process srv;
  const std::string uri = srv.uri("group/photos");  // a name with '/'
  remote_dataset::create(uri, schema);
  remote_dataset ds(uri);
  std::vector<future<uint64_t>> fs;
  for (int i = 0; i < 2000; ++i) fs.push_back(ds.append_row(make_row(i, 1 + i % 300)));
  for (int i = 0; i < 2000; ++i) REQUIRE(fs[i].get() == static_cast<uint64_t>(i));
  commit_info ci = ds.flush();
  CHECK(ci.version >= 1);

  uint64_t seen = 0;
  ds.read(0, std::nullopt, {}, [&](uint64_t index, row& r) {
    REQUIRE(r.size() == 2);
    CHECK(r[0].first == "id");
    CHECK(r[0].second.as<int64_t>()[0] == static_cast<int64_t>(index));
    CHECK(r[1].second.data == make_row(static_cast<int64_t>(index), 1 + index % 300)[1].second.data);
    ++seen;
  });
  CHECK(seen == 2000);
  auto in = ds.info();
  REQUIRE(in.tensors.size() == 2);
  CHECK(in.tensors[0].length == 2000);

  // The CLI's cat of the URI prints exactly what its cat of the directory prints.
  auto remote = cli({"cat", uri, "--start", "10", "--end", "20"});
  auto local = cli({"cat", srv.root() / "group/photos", "--start", "10", "--end", "20"});
  REQUIRE(remote.status == 0);
  CHECK(remote.out == local.out);
  CHECK(lines_of(remote.out).size() == 10);
}

TEST_CASE("remote: an append acknowledged before another was sent has a lower index") {
  // Two connections take turns; each append starts only after the other's was
  // acknowledged. Kills: acknowledging before the rows are applied, or
  // reporting an index other than where they landed.
  server_process srv;
  const std::string uri = srv.uri("order");
  remote_dataset::create(uri, schema);
  remote_dataset a(uri), b(uri);
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = (i % 2 ? a : b).append_row(make_row(i)).get();
    if (i > 0) CHECK(x > last);
    last = x;
  }
  a.flush();
  auto ids = ids_on_disk(srv.root() / "order");
  for (auto& [index, id] : ids) CHECK(index == static_cast<uint64_t>(id));
}

TEST_CASE("remote: a durable acknowledgement survives a SIGKILL of the server; the rest fail, none hangs") {
  server_process srv;
  const std::string uri = srv.uri("durable");
  remote_dataset::create(uri, schema);
  // The CLI: --durable exits 0 only once the rows are on the server's disk.
  auto r = cli({"append", "--durable", uri}, "{\"id\": 1000000, \"blob\": \"eA==\"}\n");
  REQUIRE(r.status == 0);

  remote_options o;
  o.durable = true;
  remote_dataset ds(uri, o);
  std::vector<future<uint64_t>> fs;
  for (int i = 0; i < 20; ++i) CHECK(ds.append_row(make_row(i)).get() == static_cast<uint64_t>(i + 1));
  // A stream in flight when the server dies.
  for (int i = 20; i < 3000; ++i) fs.push_back(ds.append_row(make_row(i)));
  srv.proc().kill(SIGKILL);
  srv.proc().wait();

  std::map<int64_t, uint64_t> acked;  // id -> index
  for (int i = 0; i < 20; ++i) acked[i] = static_cast<uint64_t>(i + 1);
  for (size_t k = 0; k < fs.size(); ++k) {
    REQUIRE(fs[k].wait_for(std::chrono::seconds(30)));  // never a hang
    errc got = code_of([&] { acked[static_cast<int64_t>(k + 20)] = fs[k].get(); });
    CHECK((got == errc{} || got == errc::unavailable));
  }

  // Every acknowledged row is there at its index, once; nothing is duplicated.
  auto ids = ids_on_disk(srv.root() / "durable");
  REQUIRE(!ids.empty());
  CHECK(ids[0] == 1000000);  // the CLI's row
  std::set<int64_t> distinct;
  for (auto& [index, id] : ids) CHECK(distinct.insert(id).second);
  for (auto& [id, index] : acked) {
    REQUIRE(ids.count(index));
    CHECK(ids[index] == id);
  }
  // And the restarted server serves them.
  srv.start();
  remote_dataset again(srv.uri("durable"));
  CHECK(again.info().tensors[0].length == ids.size());
}

TEST_CASE("remote: SIGTERM drains, commits what was acknowledged and releases the lock") {
  // Kills: a server that exits without committing buffered appends, or keeps
  // the lock file held (the local writer below would get errc::locked).
  server_process srv;
  const std::string uri = srv.uri("drain");
  remote_dataset::create(uri, schema);
  remote_dataset ds(uri);  // buffered: acknowledged once applied, not yet committed
  for (int i = 0; i < 500; ++i) ds.append_row(make_row(i));
  ds.close();  // every append acknowledged
  auto r = srv.stop(SIGTERM);
  CHECK(r.status == 0);
  CHECK(r.err.find("stopped") != std::string::npos);
  CHECK(ids_on_disk(srv.root() / "drain").size() == 500);
  engine eng;
  CHECK_NOTHROW(eng.open(srv.root() / "drain").close());
}

TEST_CASE("remote: names that leave the root are refused") {
  // Kills: a server that resolves '..', absolute names or symlinks out of --root.
  server_process srv;
  temp_dir outside;
  std::filesystem::create_symlink(outside.path(), srv.root() / "link");
  for (const char* name : {"../escape", "a/../../escape", "link/x", "./x", "a//b"}) {
    INFO(name);
    CHECK(expect_code(errc::invalid_argument, [&] { remote_dataset::create(srv.uri(name), schema); }));
  }
  CHECK(std::filesystem::is_empty(outside.path()));
  CHECK(expect_code(errc::not_found, [&] { remote_dataset ds(srv.uri("missing")); }));
  CHECK(cli({"info", srv.uri("missing")}).status == 66);
}

TEST_CASE("remote: a server with --token-file refuses calls without its token") {
  // Kills: an auth check that is skipped, or that accepts any token.
  temp_dir keys;
  {
    std::ofstream(keys / "token") << "s3cret-token\n";
    std::ofstream(keys / "wrong") << "s3cret-tokem\n";
  }
  server_process srv({"--token-file", keys / "token"});
  const std::string uri = srv.uri("auth");
  remote_options good;
  good.token = "s3cret-token";
  remote_options bad;
  bad.token = "s3cret-tokem";
  CHECK(expect_code(errc::unauthenticated, [&] { remote_dataset::create(uri, schema); }));
  CHECK(expect_code(errc::unauthenticated, [&] { remote_dataset::create(uri, schema, bad); }));
  remote_dataset::create(uri, schema, good);
  CHECK(expect_code(errc::unauthenticated, [&] { remote_dataset ds(uri, bad); }));
  remote_dataset ds(uri, good);
  CHECK(ds.append_row(make_row(1)).get() == 0);

  // The CLI: exit 77 without the token, 0 with --token-file or SERIALAKE_TOKEN.
  CHECK(cli({"info", uri}).status == 77);
  CHECK(cli({"--token-file", keys / "wrong", "info", uri}).status == 77);
  CHECK(cli({"--token-file", keys / "token", "info", uri}).status == 0);
  ::setenv("SERIALAKE_TOKEN", "s3cret-token", 1);
  auto r = cli({"log", uri, "--all"});
  ::unsetenv("SERIALAKE_TOKEN");
  CHECK(r.status == 0);
}

TEST_CASE("remote: a bad batch fails alone, with its errc; the stream goes on") {
  // Kills: a schema error that breaks the stream or applies part of a batch.
  server_process srv;
  const std::string uri = srv.uri("bad");
  remote_dataset::create(uri, schema);
  remote_dataset ds(uri);
  CHECK(ds.append_row(make_row(0)).get() == 0);
  std::vector<row> rows{make_row(1), {{"id", sample::of_text("not a number")}, {"blob", sample::of_bytes("")}}};
  auto f = ds.append_rows(std::move(rows));
  CHECK(expect_code(errc::schema_mismatch, [&] { f.get(); }));
  CHECK(ds.append_row(make_row(2)).get() == 1);
  ds.flush();
  CHECK(ds.info().tensors[0].length == 2);
  auto r = cli({"append", uri}, "{\"id\": \"x\", \"blob\": \"\"}\n");
  CHECK(r.status == 65);
  CHECK(r.err.find("line 1") != std::string::npos);
}

TEST_CASE("remote: a Python grpcio client generated from the .proto appends and reads") {
  // The contract stands on its own: stubs generated from service/serialake.proto,
  // none of our client code. Kills: an encoding the .proto does not describe.
  server_process srv;
  temp_dir stubs;
  python_stubs(stubs.path());
  auto r = run_program("/usr/bin/python3", {SERIALAKE_SOURCE_DIR "/tests/service/python_client.py", stubs.path(),
                                            srv.target(), "py/set"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "ok 100\n");
  CHECK(ids_on_disk(srv.root() / "py/set").size() == 100);
}
