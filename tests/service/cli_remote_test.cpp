// Every CLI command that takes a dataset path, given a serialake:// URI instead:
// the built binary (fork/exec) against a real `serialake serve` process. The
// remote forms print what the local forms print for the served directory.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace fs = std::filesystem;

TEST_CASE("CLI on a URI: create, append, cat, commit, log, info, verify print what they print locally") {
  // Kills: a command that ignores the URI (or treats it as a directory), an
  // append that exits 0 before its rows are on the server, output that differs
  // between the remote and local forms.
  server_process srv;
  const std::string uri = srv.uri("cli/ds");
  const std::string dir = srv.root() / "cli/ds";

  auto c = cli({"create", uri, "--tensor", "id:int64", "--tensor", "blob:bytes"});
  REQUIRE(c.status == 0);
  CHECK(c.out == "created " + uri + " with 2 tensors\n");
  CHECK(cli({"create", uri, "--tensor", "id:int64"}).status == 73);

  // --durable: exit 0 only once the rows are on the server's disk; read from
  // the directory at once, with no flush of the server's own. (1.2 MiB: past
  // the write buffer, so the blobs go to a chunk file, damaged below.)
  auto a = cli({"append", "--durable", uri}, blob_rows(0, 600, 2048));
  REQUIRE(a.status == 0);
  CHECK(a.out == "appended 600 rows to " + uri + "\n");
  CHECK(cli({"cat", dir, "--tensor", "id"}).out == cli({"cat", uri, "--tensor", "id"}).out);
  auto b = cli({"append", uri}, blob_rows(600, 100, 2048));  // buffered: flushed before exit 0
  REQUIRE(b.status == 0);
  auto remote_cat = cli({"cat", uri});
  REQUIRE(remote_cat.status == 0);
  CHECK(remote_cat.out == blob_rows(0, 700, 2048));
  CHECK(remote_cat.out == cli({"cat", dir}).out);
  // All or nothing: a bad line appends none of the rows.
  auto bad = cli({"append", uri}, blob_rows(700, 2, 8) + "{\"id\": \"x\", \"blob\": \"\"}\n");
  CHECK(bad.status == 65);
  CHECK_THAT(bad.err, Catch::Contains("line 3"));

  CHECK(cli({"commit", uri, "-m", "x", "--lock-timeout", "5"}).status == 64);  // the server holds the lock
  auto m = cli({"commit", uri, "-m", "seven hundred"});
  REQUIRE(m.status == 0);
  CHECK_THAT(m.out, Catch::StartsWith("committed version ") && Catch::EndsWith(": seven hundred\n"));
  auto log = cli({"log", uri, "--all"});
  REQUIRE(log.status == 0);
  CHECK(log.out == cli({"log", dir, "--all"}).out);
  CHECK_THAT(cli({"log", uri}).out, Catch::Contains("seven hundred"));

  auto info = cli({"info", uri});
  REQUIRE(info.status == 0);
  CHECK_THAT(info.out, Catch::Contains("blob") && Catch::Contains("700"));

  auto v = cli({"verify", uri});
  REQUIRE(v.status == 0);
  CHECK(v.out == cli({"verify", dir}).out);
  CHECK_THAT(v.out, Catch::StartsWith("ok: 1400 samples in 2 tensors checked"));

  // Damage a chunk file: the server finds it (exit 65) and names the sample.
  std::string chunk;
  for (auto& e : fs::recursive_directory_iterator(dir + "/chunks/blob"))
    if (e.is_regular_file() && e.file_size() > 100000) chunk = e.path();
  REQUIRE(!chunk.empty());
  {
    std::fstream f(chunk, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50000);
    f.put('\x7f');
    f.seekp(50001);
    f.put('\x00');
  }
  auto damaged = cli({"verify", uri});
  CHECK(damaged.status == 65);
  CHECK_THAT(damaged.out, Catch::Contains("tensor blob index"));
  CHECK_THAT(damaged.err, Catch::Contains("found in " + uri));
}

TEST_CASE("CLI on a URI: ingest writes through the server; --resume adds only the rest") {
  // Kills: ingest's writer not going through the handle to the server, labels
  // or --resume read from somewhere other than the served dataset.
  server_process srv;
  const std::string uri = srv.uri("pets");
  temp_dir src;
  fs::create_directories(src / "cat");
  fs::create_directories(src / "dog");
  std::ofstream(src / "cat/a.jpg") << "cat-a";
  std::ofstream(src / "dog/b.jpg") << "dog-b";
  std::ofstream(src / "dog/c.jpg") << "dog-c";

  auto r = cli({"ingest", src.path(), uri, "--threads", "2"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::StartsWith("ingested 3 files"));
  auto rows = cli({"cat", uri, "--tensor", "label", "--tensor", "path"});
  CHECK(rows.out == "{\"label\":0,\"path\":\"cat/a.jpg\"}\n{\"label\":1,\"path\":\"dog/b.jpg\"}\n"
                    "{\"label\":1,\"path\":\"dog/c.jpg\"}\n");
  CHECK(rows.out == cli({"cat", srv.root() / "pets", "--tensor", "label", "--tensor", "path"}).out);
  CHECK(cli({"cat", uri, "--tensor", "class_names"}).out == "{\"class_names\":\"cat\"}\n{\"class_names\":\"dog\"}\n");

  // A new file in a known class and one in a new class: --resume adds those
  // two, with the labels the dataset already has.
  std::ofstream(src / "dog/d.jpg") << "dog-d";
  fs::create_directories(src / "eel");
  std::ofstream(src / "eel/e.jpg") << "eel-e";
  auto again = cli({"ingest", src.path(), uri, "--resume"});
  INFO(again.err);
  REQUIRE(again.status == 0);
  CHECK_THAT(again.out, Catch::StartsWith("ingested 2 files") && Catch::Contains("3 already stored"));
  auto all = cli({"cat", uri, "--tensor", "label", "--start", "3"});
  CHECK(all.out == "{\"label\":1}\n{\"label\":2}\n");
  CHECK(cli({"verify", uri}).status == 0);
  CHECK(cli({"cat", uri}).out == cli({"cat", srv.root() / "pets"}).out);
}

TEST_CASE("CLI on a URI: the token from --token-file or SERIALAKE_TOKEN, refused without") {
  // Kills: a command that does not send the token it was given.
  temp_dir keys;
  std::ofstream(keys / "token") << "cli-token\n";
  server_process srv({"--token-file", keys / "token"});
  const std::string uri = srv.uri("auth");
  const std::string tf = keys / "token";
  REQUIRE(cli({"--token-file", tf, "create", uri, "--tensor", "n:int64"}).status == 0);
  for (auto& cmd : std::vector<std::vector<std::string>>{{"append", uri}, {"commit", uri, "-m", "x"}, {"verify", uri},
                                                         {"log", uri}, {"cat", uri}, {"info", uri}}) {
    INFO(cmd[0]);
    CHECK(cli(cmd, "{\"n\": 1}\n").status == 77);
    std::vector<std::string> with{"--token-file", tf};
    with.insert(with.end(), cmd.begin(), cmd.end());
    CHECK(cli(with, "{\"n\": 1}\n").status == 0);
  }
  temp_dir tree;
  fs::create_directories(tree / "c");
  std::ofstream(tree / "c/x") << "x";
  CHECK(cli({"ingest", tree.path(), srv.uri("ingested")}).status == 77);
  ::setenv("SERIALAKE_TOKEN", "cli-token", 1);
  auto r = cli({"ingest", tree.path(), srv.uri("ingested")});
  ::unsetenv("SERIALAKE_TOKEN");
  CHECK(r.status == 0);
}
