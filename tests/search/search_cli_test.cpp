// `serialake search` run as a user would: JSON arrays in, one result line out per query.

#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

// A dataset "ds" with tensor emb (float32 [3]) holding `rows` and label (int64).
std::string make_dataset(const temp_dir& dir, const std::vector<std::string>& rows) {
  const std::string ds = dir.path() + "/ds";
  REQUIRE(cli({"create", ds, "--tensor", "emb:float32:embedding:3", "--tensor", "label:int64"}).status == 0);
  std::string in;
  for (size_t i = 0; i < rows.size(); ++i) in += "{\"emb\": " + rows[i] + ", \"label\": " + std::to_string(i) + "}\n";
  auto r = cli({"append", ds}, in);
  REQUIRE(r.status == 0);
  return ds;
}

}  // namespace

// Kills: results out of order, queries answered out of order, a metric flag
// ignored, scores printed wrongly.
TEST_CASE("serialake search answers each query line with its top-k, best first", "[search][cli]") {
  temp_dir dir;
  auto ds = make_dataset(dir, {"[1, 0, 0]", "[0, 1, 0]", "[0, 0, 1]", "[1, 1, 0]", "[2, 0, 0]"});
  auto r = cli({"search", ds, "emb", "--k", "3", "--metric", "ip"}, "[1, 0, 0]\n\n[0, 2, 0]\n");
  REQUIRE(r.status == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 2);  // the blank line is skipped
  auto a = nlohmann::json::parse(lines[0])["results"];
  REQUIRE(a.size() == 3);
  // ip with (1,0,0): row 4 scores 2, rows 0 and 3 tie at 1 (index order).
  CHECK(a[0]["index"] == 4);
  CHECK(a[0]["score"] == 2.0);
  CHECK(a[1]["index"] == 0);
  CHECK(a[2]["index"] == 3);
  auto b = nlohmann::json::parse(lines[1])["results"];
  CHECK(b[0]["index"] == 1);  // ties with row 3 at 2; lower index first
  CHECK(b[1]["index"] == 3);
  CHECK(b[0]["score"] == 2.0);

  auto l2 = cli({"search", ds, "emb", "--k", "1", "--metric", "l2", "--exact"}, "[2, 0.5, 0]\n");
  REQUIRE(l2.status == 0);
  auto c = nlohmann::json::parse(lines_of(l2.out)[0])["results"];
  CHECK(c[0]["index"] == 4);
  CHECK(c[0]["score"] == 0.25);
}

// Kills: a bad line crashing the program, answered as if good, or losing the
// answers to the lines before it.
TEST_CASE("serialake search stops at a bad line, naming it, after answering the lines before", "[search][cli]") {
  temp_dir dir;
  auto ds = make_dataset(dir, {"[1, 0, 0]", "[0, 1, 0]"});
  auto r = cli({"search", ds, "emb"}, "[1, 0, 0]\n[1, 0]\n[0, 1, 0]\n");
  CHECK(r.status == 65);
  CHECK(lines_of(r.out).size() == 1);
  CHECK(r.err.find("line 2") != std::string::npos);
  CHECK(r.err.find("dimension 2") != std::string::npos);
  auto bad = cli({"search", ds, "emb"}, "[1, 0, \"x\"]\n");
  CHECK(bad.status == 65);
  CHECK(bad.err.find("line 1: element 2 is not a number") != std::string::npos);
  CHECK(cli({"search", ds, "emb", "--k", "0"}, "[1, 0, 0]\n").status == 65);
  CHECK(cli({"search", ds, "emb", "--metric", "dot"}, "[1, 0, 0]\n").status == 65);
  CHECK(cli({"search", ds, "label"}, "[1]\n").status == 65);  // not an embedding
  CHECK(cli({"search", ds, "nope"}, "[1]\n").status == 64);
}

// Kills: `serialake index` not writing an index a later process uses, and
// --exact not bypassing it (a damaged index fails the indexed search only).
TEST_CASE("serialake index builds an index that later searches use, and --exact skips it", "[search][cli][index]") {
  temp_dir dir;
  auto ds = make_dataset(dir, {"[1, 0, 0]", "[0, 1, 0]", "[0, 0, 1]"});
  auto r = cli({"index", ds, "emb", "--metric", "ip"});
  REQUIRE(r.status == 0);
  CHECK(r.out == "{\"rows\": 3, \"version\": 1}\n");
  auto s = cli({"search", ds, "emb", "--k", "1", "--metric", "ip"}, "[0, 1, 0]\n");
  REQUIRE(s.status == 0);
  CHECK(nlohmann::json::parse(lines_of(s.out)[0])["results"][0]["index"] == 1);
  { std::ofstream(ds + "/indexes/emb.json") << "{"; }
  CHECK(cli({"search", ds, "emb", "--k", "1", "--metric", "ip"}, "[0, 1, 0]\n").status == 65);
  CHECK(cli({"search", ds, "emb", "--k", "1", "--metric", "ip", "--exact"}, "[0, 1, 0]\n").status == 0);
}
