// Hostile and mistaken input through the real binary: every bad line is exit 65
// naming the line (and the field when there is one), never a crash, a silent
// choice or a misaligned row; and the read commands' output stays clean.

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;

namespace {

std::string nested(size_t depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

// A dataset with an int64 `n`, a json `j` and a float64 `f`.
struct three_tensors {
  temp_dir dir;
  std::string ds = dir / "ds";
  three_tensors() {
    REQUIRE(cli({"create", ds, "--tensor", "n:int64", "--tensor", "j:json", "--tensor", "f:float64"}).status == 0);
    REQUIRE(cli({"append", ds}, "{\"n\":0,\"j\":null,\"f\":0.5}\n").status == 0);
  }
  // What the dataset holds: unchanged by every refused append.
  std::string content() { return cli({"cat", ds}).out; }
};

const std::string good_row = "{\"n\":1,\"j\":[],\"f\":1}\n";

}  // namespace

TEST_CASE("a 70,000-deep line is exit 65 naming line and field, not a crash") {
  three_tensors t;
  const std::string deep = "{\"j\": " + nested(70000) + "}\n";
  auto r = cli({"append", t.ds}, good_row + deep);
  CHECK(r.status == 65);
  CHECK(r.err == "serialake: line 2 field 'j': nested deeper than 128 levels\n");
  // The same through a numeric tensor, whose decoder also walks the nesting.
  auto num = cli({"append", t.ds}, "{\"n\":1,\"j\":1,\"f\":" + nested(70000) + "}\n");
  CHECK(num.status == 65);
  CHECK_THAT(num.err, Catch::StartsWith("serialake: line 1 field 'f': nested deeper than 128 levels"));
  auto dims = cli({"append", t.ds}, "{\"n\":1,\"j\":1,\"f\":" + nested(33) + "}\n");
  CHECK(dims.status == 65);
  CHECK_THAT(dims.err, Catch::StartsWith("serialake: line 1 field 'f': nested deeper than 32 arrays"));
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n");
}

TEST_CASE("a json value at the depth limit is stored and cat writes it on a 1 MiB stack") {
  three_tensors t;
  const std::string row = "{\"n\":1,\"j\":" + nested(128) + ",\"f\":1.0}\n";
  auto a = cli({"append", t.ds}, row);
  INFO(a.err);
  REQUIRE(a.status == 0);
  auto r = run_program("/bin/sh", {"-c", "ulimit -s 1024 && exec \"$0\" cat \"$1\" --start 1", SERIALAKE_CLI, t.ds});
  CHECK(r.status == 0);
  CHECK(r.out == row);
  auto over = cli({"append", t.ds}, "{\"n\":1,\"j\":" + nested(129) + ",\"f\":1.0}\n");
  CHECK(over.status == 65);
  CHECK(over.err == "serialake: line 1 field 'j': nested deeper than 128 levels\n");
}

TEST_CASE("a number out of float64 range is exit 65 naming line and field") {
  three_tensors t;
  for (const char* big : {"1e309", "-1e309", "[1,1e400]"}) {
    auto r = cli({"append", t.ds}, good_row + "{\"n\":2,\"j\":null,\"f\":" + big + "}\n");
    INFO(big);
    CHECK(r.status == 65);
    CHECK_THAT(r.err, Catch::StartsWith("serialake: line 2 field 'f': number ") &&
                          Catch::Contains("is out of range"));
  }
  // Inside a json value too: it could not be stored as a float64 either.
  auto j = cli({"append", t.ds}, "{\"n\":2,\"j\":{\"x\":1e309},\"f\":1}\n");
  CHECK(j.status == 65);
  CHECK_THAT(j.err, Catch::StartsWith("serialake: line 1 field 'j': number 1e309 is out of range"));
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n");
}

TEST_CASE("a NUL byte inside a line is exit 65 naming line and column") {
  three_tensors t;
  const std::string nul_tail = std::string("{\"n\":1,\"j\":[],\"f\":1}\0{\"n\":9}", 28) + "\n";
  auto r = cli({"append", t.ds}, good_row + nul_tail);
  CHECK(r.status == 65);
  CHECK(r.err == "serialake: line 2: NUL byte at column 21 (a JSON string writes it as \\u0000)\n");
  auto in_string = cli({"append", t.ds}, std::string("{\"n\":1,\"j\":\"a\0b\",\"f\":1}\n", 24));
  CHECK(in_string.status == 65);
  CHECK_THAT(in_string.err, Catch::StartsWith("serialake: line 1: NUL byte at column 14"));
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n");
}

TEST_CASE("a duplicate key is exit 65 naming line and field, at any depth") {
  three_tensors t;
  auto top = cli({"append", t.ds}, good_row + "{\"n\":1,\"j\":[],\"f\":1,\"n\":2}\n");
  CHECK(top.status == 65);
  CHECK(top.err == "serialake: line 2 field 'n': duplicate key 'n'\n");
  auto inner = cli({"append", t.ds}, "{\"n\":1,\"j\":{\"a\":1,\"b\":[{\"a\":1,\"a\":2}]},\"f\":1}\n");
  CHECK(inner.status == 65);
  CHECK(inner.err == "serialake: line 1 field 'j': duplicate key 'a'\n");
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n");
}

TEST_CASE("nested arrays claiming a huge shape are refused without reserving it") {
  three_tensors t;
  // [[0 x 100000], [], [] ...]: the first items claim 10^10 elements (80 GB).
  const size_t n = 100000;
  std::string f = "[[0";
  for (size_t i = 1; i < n; ++i) f += ",0";
  f += "]";
  for (size_t i = 1; i < n; ++i) f += ",[]";
  f += "]";
  auto r = cli({"append", t.ds}, "{\"n\":1,\"j\":1,\"f\":" + f + "}\n");
  CHECK(r.status == 65);
  CHECK(r.err == "serialake: line 1 field 'f': element [1] has 0 items, expected 100000 "
                 "(the nested arrays are not rectangular)\n");
}

TEST_CASE("a fixed shape whose size overflows is refused at create") {
  temp_dir dir;
  auto r = cli({"create", dir / "ds", "--tensor", "x:float32::4294967296x4294967296"});
  CHECK(r.status == 64);
  CHECK_THAT(r.err, Catch::Contains("needs more than 2^64 bytes"));
  CHECK_FALSE(std::filesystem::exists(dir / "ds"));
}

TEST_CASE("append refuses a row that omits tensors unless --allow-missing") {
  three_tensors t;
  auto r = cli({"append", t.ds}, good_row + "{\"n\":2}\n" + good_row);
  CHECK(r.status == 65);
  CHECK(r.err == "serialake: line 2: missing tensors f, j (every row names every tensor; "
                 "--allow-missing appends rows that name some)\n");
  auto one = cli({"append", t.ds}, "{\"n\":2,\"f\":2}\n");
  CHECK(one.status == 65);
  CHECK_THAT(one.err, Catch::StartsWith("serialake: line 1: missing tensor j ("));
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n");

  auto ok = cli({"append", t.ds, "--allow-missing"}, "{\"n\":2}\n");
  CHECK(ok.status == 0);
  CHECK(t.content() == "{\"n\":0,\"j\":null,\"f\":0.5}\n{\"n\":2}\n");
  CHECK_THAT(cli({"append", "--help"}).out, Catch::Contains("--allow-missing"));
}

TEST_CASE("export --npy /dev/stdout writes only the array on stdout") {
  three_tensors t;
  auto r = cli({"export", t.ds, "n", "--npy", "/dev/stdout"});
  CHECK(r.status == 0);
  REQUIRE(r.out.size() == 128 + 8);  // header padded to 64 bytes, then one int64
  CHECK(r.out.compare(0, 6, "\x93NUMPY") == 0);
  CHECK(r.out.substr(128) == std::string(8, '\0'));
  CHECK(r.err == "exported 1 samples of 'n' to /dev/stdout\n");
}

TEST_CASE("info works without a lock file and shows the lock as free") {
  three_tensors t;
  REQUIRE(std::filesystem::remove(t.dir / "ds/lock"));
  auto r = cli({"info", t.ds});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("lock     free\n"));
  auto j = cli({"info", t.ds, "--json"});
  REQUIRE(j.status == 0);
  CHECK(nlohmann::json::parse(j.out)["lock"].is_null());
  CHECK_FALSE(std::filesystem::exists(t.dir / "ds/lock"));  // read-only: nothing created
}

TEST_CASE("a --lock-timeout too large says so") {
  three_tensors t;
  for (auto& cmd : {"append", "commit", "lock"}) {
    std::vector<std::string> args{cmd, t.ds, "--lock-timeout", "1e20"};
    if (std::string(cmd) == "commit") args.insert(args.end(), {"-m", "x"});
    auto r = cli(args);
    CHECK(r.status == 64);
    CHECK(r.err == "serialake: --lock-timeout 1e+20 is too large (at most 1e9 seconds, about 31 years)\n");
  }
  CHECK(cli({"append", t.ds, "--lock-timeout", "1e9"}, "").status == 0);
}

TEST_CASE("log prints each commit on one line: messages escaped, named commits with their total") {
  three_tensors t;
  auto c = cli({"commit", t.ds, "-m", "two\nlines\\ and\ta tab"});
  REQUIRE(c.status == 0);
  CHECK(c.out == "committed version 2: two\\nlines\\\\ and\\ta tab\n");
  auto log = cli({"log", t.ds});
  REQUIRE(log.status == 0);
  REQUIRE(lines_of(log.out).size() == 1);
  CHECK_THAT(log.out, Catch::Matches("v2 +[0-9T:Z-]+ +3 samples, none new +two\\\\nlines\\\\\\\\ and\\\\ta tab\n"));
  auto all = lines_of(cli({"log", t.ds, "--all"}).out);
  REQUIRE(all.size() == 2);
  CHECK_THAT(all[0], Catch::Matches("v1 +[0-9T:Z-]+ +3 samples, 3 new +\\(unnamed\\)"));
  CHECK_THAT(cli({"info", t.ds}).out, Catch::Contains("two\\nlines\\\\ and\\ta tab\n"));
}
