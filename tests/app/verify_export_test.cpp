// verify against a damaged chunk, and export read back by NumPy.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/app/cli_runner.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake::test;
namespace fs = std::filesystem;

namespace {

// Flips one byte inside the first occurrence of `needle` in `file`; false if absent.
bool flip_inside(const std::string& file, const std::string& needle, size_t at) {
  std::ifstream in(file, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto pos = content.find(needle);
  if (pos == std::string::npos) return false;
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(pos + at));
  f.put(static_cast<char>(needle[at] ^ 0x7f));
  return true;
}

}  // namespace

TEST_CASE("a flipped byte makes verify exit 65 naming the sample while other rows still read") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "id:int64", "--tensor", "blob:bytes"}).status == 0);
  // Two appends: two small commits, whose samples ride in their commit records
  // in commits.log. The damage goes into sample 3 (99 bytes of value 3).
  REQUIRE(cli({"append", ds}, blob_rows(0, 10, 99)).status == 0);
  REQUIRE(cli({"append", ds}, blob_rows(10, 10, 48)).status == 0);
  REQUIRE(cli({"verify", ds}).out == "ok: 40 samples in 2 tensors checked (version 2)\n");

  const std::string first_chunk = ds + "/commits.log";
  REQUIRE(flip_inside(first_chunk, std::string(99, '\x03'), 17));

  auto v = cli({"verify", ds});
  CHECK(v.status == 65);
  CHECK(v.out == "tensor blob index 3 file " + first_chunk + ": checksum mismatch\n");
  CHECK(v.err == "serialake: 1 problem found in " + ds + " (version 2)\n");

  auto bad = cli({"cat", ds, "--start", "3", "--end", "4"});
  CHECK(bad.status == 65);
  CHECK_THAT(bad.err, Catch::Contains("tensor 'blob' index 3") && Catch::Contains("checksum mismatch"));
  auto before = cli({"cat", ds, "--end", "3"});
  CHECK(before.status == 0);
  CHECK(before.out == blob_rows(0, 3, 99));
  auto after = cli({"cat", ds, "--start", "4"});
  CHECK(after.status == 0);
  CHECK(after.out == blob_rows(4, 6, 99) + blob_rows(10, 10, 48));
  CHECK(cli({"cat", ds, "--tensor", "id", "--start", "3", "--end", "4"}).out == "{\"id\":3}\n");
}

TEST_CASE("damage in the last commit's data is reported by verify, not hidden") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "blob:bytes"}).status == 0);
  REQUIRE(cli({"append", ds}, "{\"blob\":\"AAAA\"}\n").status == 0);
  REQUIRE(cli({"append", ds}, "{\"blob\":\"BBBBBBBB\"}\n").status == 0);
  REQUIRE(flip_inside(ds + "/commits.log", serialake::base64_decode("BBBBBBBB"), 0));
  // The damaged commit stays visible: its sample reads as corrupt, the others
  // still read, and verify names it.
  CHECK(cli({"cat", ds, "--end", "1"}).out == "{\"blob\":\"AAAA\"}\n");
  CHECK(cli({"cat", ds, "--start", "1"}).status == 65);
  auto v = cli({"verify", ds});
  CHECK(v.status == 65);
  CHECK_THAT(v.out, Catch::StartsWith("tensor blob index 1 file "));
}

TEST_CASE("an exported .npy reads back in NumPy with the same values") {
  temp_dir dir;
  const std::string ds = dir / "ds";
  REQUIRE(cli({"create", ds, "--tensor", "e:float32:embedding:2x3", "--tensor", "n:int64", "--tensor",
               "flag:bool", "--tensor", "u:uint16:generic:scalar", "--tensor", "img:uint8:image",
               "--tensor", "t:text"})
              .status == 0);
  std::string rows;
  for (int i = 0; i < 5; ++i) {
    rows += "{\"e\":[[" + std::to_string(i) + ".5,0.1,-2.0],[1e+30,-0.0,3.0]],\"n\":" +
            std::to_string(i == 4 ? -9223372036854775807LL : i * 1000000007LL) +
            ",\"flag\":" + (i % 2 ? "true" : "false") + ",\"u\":" + std::to_string(65535 - i) +
            ",\"img\":" + (i == 2 ? "[[1,2]]" : "[[1],[2]]") + ",\"t\":\"x\"}\n";
  }
  REQUIRE(cli({"append", ds}, rows).status == 0);

  auto values = [&](const std::string& tensor) {
    const std::string file = dir / (tensor + ".npy");
    auto r = cli({"export", ds, tensor, "--npy", file});
    REQUIRE(r.status == 0);
    CHECK(r.out.empty());
    CHECK(r.err == "exported 5 samples of '" + tensor + "' to " + file + "\n");
    // Debian's python3 with python3-numpy; not whatever python3 is first on PATH.
    auto py = run_program("/usr/bin/python3",
                          {"-c",
                           "import json, sys, numpy as np\n"
                           "a = np.load(sys.argv[1])\n"
                           "print(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape),\n"
                           "                  'values': a.tolist()}))\n",
                           file});
    INFO(py.err);
    REQUIRE(py.status == 0);
    return nlohmann::json::parse(py.out);
  };

  auto e = values("e");
  CHECK(e["dtype"] == "float32");
  CHECK(e["shape"] == nlohmann::json::array({5, 2, 3}));
  for (int i = 0; i < 5; ++i) {
    CHECK(e["values"][i][0][0].get<double>() == i + 0.5);
    CHECK(e["values"][i][0][1].get<double>() == static_cast<double>(0.1f));
    CHECK(e["values"][i][1][0].get<double>() == static_cast<double>(1e30f));
  }
  auto n = values("n");
  CHECK(n["dtype"] == "int64");
  CHECK(n["shape"] == nlohmann::json::array({5}));
  CHECK(n["values"][3].get<int64_t>() == 3000000021LL);
  CHECK(n["values"][4].get<int64_t>() == -9223372036854775807LL);
  auto flag = values("flag");
  CHECK(flag["dtype"] == "bool");
  CHECK(flag["values"] == nlohmann::json::array({false, true, false, true, false}));
  auto u = values("u");
  CHECK(u["dtype"] == "uint16");
  CHECK(u["values"] == nlohmann::json::array({65535, 65534, 65533, 65532, 65531}));

  auto ragged = cli({"export", ds, "img", "--npy", dir / "img.npy"});
  CHECK(ragged.status == 65);
  CHECK_THAT(ragged.err, Catch::Contains("ragged") && Catch::Contains("sample 2"));
  CHECK_FALSE(fs::exists(dir / "img.npy"));
  CHECK(cli({"export", ds, "t", "--npy", dir / "t.npy"}).status == 65);
}
