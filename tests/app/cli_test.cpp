// The CLI driven as a user drives it: create, append, cat, commit, log, info and
// the exit codes, through the built binary.

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;

namespace {

// One tensor of every dtype.
const std::vector<std::string> every_dtype = {
    "--tensor", "b:bool",      "--tensor", "u8:uint8:image",   "--tensor", "u16:uint16",
    "--tensor", "u32:uint32",  "--tensor", "u64:uint64",       "--tensor", "i8:int8",
    "--tensor", "i16:int16",   "--tensor", "i32:int32",        "--tensor", "i64:int64:class_label",
    "--tensor", "f32:float32:embedding:3", "--tensor", "f64:float64", "--tensor", "by:bytes",
    "--tensor", "t:text:text", "--tensor", "j:json:json"};

// Rows in exactly the form cat writes (keys in tensor order, compact), so cat
// must reproduce them byte for byte.
const std::string every_dtype_rows =
    R"({"b":true,"u8":[[0,255],[7,8]],"u16":65535,"u32":4294967295,"u64":18446744073709551615,)"
    R"("i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"f32":[0.1,-0.0,3.4028235e+38],)"
    R"("f64":5e-324,"by":"AAH/","t":"quote \" backslash \\ newline \n é 日本","j":{"z":1,"a":[1,2.5,null]}})"
    "\n"
    R"({"b":[[true,false]],"u8":[],"u16":[1,2],"u32":0,"u64":0,"i8":127,"i16":32767,"i32":2147483647,)"
    R"("i64":9223372036854775807,"f32":["NaN","Infinity","-Infinity"],"f64":[[0.1,1e+300]],"by":"",)"
    R"("t":"","j":null})"
    "\n"
    R"({"i64":3,"t":"only two tensors in this row"})"
    "\n";

std::vector<std::string> args(std::initializer_list<std::string> a, const std::vector<std::string>& more = {}) {
  std::vector<std::string> v(a);
  v.insert(v.end(), more.begin(), more.end());
  return v;
}

}  // namespace

TEST_CASE("every dtype round-trips through create, append and cat") {
  temp_dir dir;
  const std::string ds = dir / "all.serialake";
  auto c = cli(args({"create", ds}, every_dtype));
  REQUIRE(c.status == 0);
  auto a = cli({"append", ds, "--allow-missing"}, every_dtype_rows);
  INFO(a.err);
  REQUIRE(a.status == 0);
  CHECK(a.out == "appended 3 rows to " + ds + "\n");
  auto r = cli({"cat", ds});
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == every_dtype_rows);
}

TEST_CASE("cat | append into a new dataset gives identical output") {
  temp_dir dir;
  const std::string a = dir / "a", b = dir / "b";
  REQUIRE(cli(args({"create", a}, every_dtype)).status == 0);
  REQUIRE(cli(args({"create", b}, every_dtype)).status == 0);
  // Non-canonical input (spaces, 1e0, reordered keys) comes out canonical.
  std::string input = every_dtype_rows + R"({ "f64": 1e0, "i8" : -1 , "u8": [[1]] })" + "\n";
  REQUIRE(cli({"append", a, "--allow-missing"}, input).status == 0);
  auto first = cli({"cat", a});
  REQUIRE(first.status == 0);
  // Row i of cat is sample i of each tensor: the partial third and fourth input
  // rows share index 2 of the tensors they name.
  CHECK(lines_of(first.out).back() ==
        R"({"u8":[[1]],"i8":-1,"i64":3,"f64":1.0,"t":"only two tensors in this row"})");
  REQUIRE(cli({"append", b, "--allow-missing"}, first.out).status == 0);
  auto second = cli({"cat", b});
  REQUIRE(second.status == 0);
  CHECK(second.out == first.out);
}

TEST_CASE("cat selects tensors, row ranges and versions") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64", "--tensor", "s:text"}).status == 0);
  REQUIRE(cli({"append", ds}, "{\"n\":0,\"s\":\"a\"}\n{\"n\":1,\"s\":\"b\"}\n").status == 0);
  REQUIRE(cli({"commit", ds, "-m", "first two"}).status == 0);
  REQUIRE(cli({"append", ds, "--allow-missing"}, "{\"n\":2,\"s\":\"c\"}\n{\"n\":3}\n").status == 0);
  CHECK(cli({"cat", ds, "--tensor", "s"}).out == "{\"s\":\"a\"}\n{\"s\":\"b\"}\n{\"s\":\"c\"}\n");
  CHECK(cli({"cat", ds, "--start", "1", "--end", "3", "--tensor", "n"}).out == "{\"n\":1}\n{\"n\":2}\n");
  CHECK(cli({"cat", ds, "--start", "3"}).out == "{\"n\":3}\n");
  CHECK(cli({"cat", ds, "--version", "2", "--tensor", "n"}).out == "{\"n\":0}\n{\"n\":1}\n");
  CHECK(cli({"cat", ds, "--start", "9"}).out.empty());
}

TEST_CASE("commit names a version and log lists it, info reports tensors and commits") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64:class_label", "--tensor", "e:float32:embedding:2"}).status == 0);
  REQUIRE(cli({"append", ds, "--durable"}, "{\"n\":1,\"e\":[1,2]}\n{\"n\":2,\"e\":[3,4]}\n").status == 0);
  auto c = cli({"commit", ds, "-m", "first batch"});
  CHECK(c.status == 0);
  CHECK(c.out == "committed version 2: first batch\n");
  auto log = cli({"log", ds});
  CHECK(log.status == 0);
  REQUIRE(lines_of(log.out).size() == 1);
  CHECK_THAT(log.out, Catch::Matches("v2 +20[0-9-]{8}T[0-9:]{8}Z +4 samples, none new +first batch\n"));
  CHECK(lines_of(cli({"log", ds, "--all"}).out).size() == 2);

  auto info = cli({"info", ds, "--json"});
  REQUIRE(info.status == 0);
  auto j = nlohmann::json::parse(info.out);
  CHECK(j["version"] == 2);
  CHECK(j["commits"] == 2);
  CHECK(j["named_commits"][0]["message"] == "first batch");
  CHECK(j["tensors"][0]["name"] == "n");
  CHECK(j["tensors"][0]["length"] == 2);
  CHECK(j["tensors"][0]["bytes"] == 16);
  CHECK(j["tensors"][0]["shape"].is_null());
  CHECK(j["tensors"][1]["shape"] == nlohmann::json::array({2}));
  CHECK(j["tensors"][1]["chunks"] == 1);
  auto text = cli({"info", ds});
  CHECK(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("embedding") && Catch::Contains("first batch"));
}

TEST_CASE("a malformed line in the middle commits nothing and names the line") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64", "--tensor", "e:float32::2"}).status == 0);
  REQUIRE(cli({"append", ds, "--allow-missing"}, "{\"n\":100}\n").status == 0);

  auto syntax = cli({"append", ds, "--allow-missing"}, "{\"n\":1}\n{\"n\":2}\n{\"n\":3\n{\"n\":4}\n");
  CHECK(syntax.status == 65);
  CHECK_THAT(syntax.err, Catch::StartsWith("serialake: line 3: malformed JSON"));
  CHECK(lines_of(syntax.err).size() == 1);

  auto field = cli({"append", ds, "--allow-missing"}, "{\"n\":1}\n\n{\"n\":2,\"e\":[1,2,3]}\n{\"n\":4}\n");
  CHECK(field.status == 65);
  CHECK_THAT(field.err, Catch::StartsWith("serialake: line 3 field 'e': "));

  auto unknown = cli({"append", ds, "--allow-missing"}, "{\"n\":1}\n{\"x\":2}\n");
  CHECK(unknown.status == 65);
  CHECK_THAT(unknown.err, Catch::StartsWith("serialake: line 2 field 'x': no such tensor"));

  auto not_int = cli({"append", ds, "--allow-missing"}, "{\"n\":1}\n{\"n\":2}\n{\"n\":2.5}\n");
  CHECK(not_int.status == 65);
  CHECK_THAT(not_int.err, Catch::Contains("line 3 field 'n'") && Catch::Contains("expected an integer"));

  // Only the first append's row was ever committed.
  CHECK(cli({"cat", ds}).out == "{\"n\":100}\n");
  CHECK(cli({"log", ds, "--all"}).out.find("v2") == std::string::npos);

  auto empty = cli({"append", ds, "--allow-missing"}, "");
  CHECK(empty.status == 0);
  CHECK(empty.out == "appended 0 rows to " + ds + "\n");
}

TEST_CASE("exit codes: 64 usage, 65 bad data, 66 no dataset, 73 exists, 74 I/O") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "n:int64", "--tensor", "t:text"}).status == 0);
  REQUIRE(cli({"append", ds}, "{\"n\":1,\"t\":\"x\"}\n").status == 0);

  SECTION("64: the command line makes no sense") {
    for (auto& bad : std::vector<std::vector<std::string>>{
             {},
             {"frobnicate"},
             {"cat"},
             {"cat", ds, "--bogus"},
             {"cat", ds, "--start", "x"},
             {"cat", ds, "--tensor", "nope"},
             {"create", dir / "new", "--tensor", "x:int3"},
             {"create", dir / "new", "--tensor", "x"},
             {"create", dir / "new", "--tensor", "x:int64::3y4"},
             {"create", dir / "new", "--tensor", "b:bytes::4"},
             {"commit", ds},
             {"append", ds, "--lock-timeout", "-1"}}) {
      auto r = cli(bad);
      INFO(r.err);
      CHECK(r.status == 64);
      CHECK_THAT(r.err, Catch::StartsWith("serialake: "));
      CHECK(lines_of(r.err).size() == 1);
    }
    CHECK_FALSE(std::filesystem::exists(dir / "new"));
  }
  SECTION("65: bad input data") {
    auto r = cli({"append", ds}, "{\"t\": 5}\n");
    CHECK(r.status == 65);
    CHECK(cli({"export", ds, "t", "--npy", dir / "t.npy"}).status == 65);
  }
  SECTION("66: no such dataset") {
    for (auto& cmd : {"cat", "info", "verify", "log"}) {
      auto r = cli({cmd, dir / "missing"});
      CHECK(r.status == 66);
      CHECK_THAT(r.err, Catch::StartsWith("serialake: no dataset at "));
    }
    CHECK(cli({"append", dir / "missing"}, "{\"n\":1}\n").status == 66);
    CHECK(cli({"ingest", dir / "no-such-folder", dir / "x"}).status == 66);
  }
  SECTION("73: create where a dataset exists") {
    auto r = cli({"create", ds, "--tensor", "n:int64"});
    CHECK(r.status == 73);
    CHECK(r.err == "serialake: a dataset already exists at " + ds + "\n");
  }
  SECTION("74: an I/O error") {
    auto r = cli({"export", ds, "n", "--npy", dir / "no-such-dir/n.npy"});
    CHECK(r.status == 74);
    CHECK_THAT(r.err, Catch::StartsWith("serialake: cannot create "));
  }
}

TEST_CASE("--help shows an example for every command, --version prints the version") {
  for (auto& cmd : {"create", "append", "cat", "ingest", "info", "verify", "export", "commit", "log"}) {
    auto r = cli({cmd, "--help"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("Example:") && Catch::Contains(std::string("serialake ") + cmd));
  }
  auto v = cli({"--version"});
  CHECK(v.status == 0);
  CHECK_THAT(v.out, Catch::StartsWith("serialake "));
}
