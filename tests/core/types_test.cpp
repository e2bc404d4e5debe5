// The data model's checks: shape sizes that overflow, and the JSON texts a json
// sample (or a JSON Lines row) may hold.

#include <catch2/catch.hpp>
#include "tests/expect_code.hpp"

#include <limits>

#include "serialake/error.hpp"
#include "serialake/types.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;

namespace {

std::string nested(size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

// The message of the error check_sample throws, or "" if it accepts.
std::string refusal(const tensor_spec& spec, const sample& s) {
  try {
    check_sample(spec, s);
  } catch (const error& e) {
    return e.message();
  }
  return {};
}

}  // namespace

TEST_CASE("data_bytes refuses a shape whose size overflows 64 bits") {
  CHECK(data_bytes(dtype::float64, {}) == 8u);
  CHECK(data_bytes(dtype::int32, {3, 0, 5}) == 0u);
  CHECK(data_bytes(dtype::uint8, {uint64_t{1} << 32, uint64_t{1} << 31}) == uint64_t{1} << 63);
  CHECK_FALSE(data_bytes(dtype::uint8, {uint64_t{1} << 32, uint64_t{1} << 32}));
  CHECK_FALSE(data_bytes(dtype::uint16, {uint64_t{1} << 32, uint64_t{1} << 31}));  // the item size too
  CHECK_FALSE(data_bytes(dtype::uint8, {uint64_t{1} << 32, uint64_t{1} << 32, 0}));
}

TEST_CASE("check_sample refuses a sample whose shape product wraps around to its byte count") {
  const tensor_spec spec{"x", dtype::float32, "generic", std::nullopt};
  // 2^32 * 2^32 elements wrap to 0, the byte count of empty data.
  sample s{dtype::float32, {uint64_t{1} << 32, uint64_t{1} << 32}, ""};
  CHECK(expect_code(errc::invalid_argument, [&] { check_sample(spec, s); }));
  CHECK_THAT(refusal(spec, s), Catch::Contains("needs more than 2^64 bytes"));
  // 2^62 float32s are 2^64 bytes: wraps to 0 only once multiplied by the item size.
  s.shape = {uint64_t{1} << 62};
  CHECK_THAT(refusal(spec, s), Catch::Contains("needs more than 2^64 bytes"));
  CHECK(refusal(spec, sample::of<float>(dtype::float32, {1, 2}, {2})).empty());
}

TEST_CASE("find_json_problem: depth, duplicate keys, NUL bytes, number range, syntax") {
  CHECK_FALSE(find_json_problem(nested(max_json_depth)));
  CHECK_FALSE(find_json_problem(R"({"a":)" + nested(max_json_depth - 1) + "}"));
  auto deep = find_json_problem(nested(max_json_depth + 1));
  REQUIRE(deep);
  CHECK(deep->message == "nested deeper than 128 levels");

  // A row: the object is one level more, and the problem names its key.
  const std::string row_ok = R"({"n":1,"j":)" + nested(max_json_depth) + "}";
  CHECK_FALSE(find_json_problem(row_ok, 1));
  CHECK(find_json_problem(row_ok, 0));
  auto row_deep = find_json_problem(R"({"n":1,"j":)" + nested(max_json_depth + 1) + "}", 1);
  REQUIRE(row_deep);
  CHECK(row_deep->key == "j");
  // Far past the stack a recursive parser could use: no crash, the same answer.
  auto very_deep = find_json_problem(R"({"j":)" + nested(70000) + "}", 1);
  REQUIRE(very_deep);
  CHECK(very_deep->key == "j");

  auto dup = find_json_problem(R"({"n":1,"j":[{"a":1,"b":{"a":2},"a":3}]})");
  REQUIRE(dup);
  CHECK(dup->message == "duplicate key 'a'");
  CHECK(dup->key == "j");
  CHECK_FALSE(find_json_problem(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"));
  auto top_dup = find_json_problem(R"({"n":1,"n":2})");
  REQUIRE(top_dup);
  CHECK(top_dup->key == "n");

  auto nul = find_json_problem(std::string("{\"t\":\"ab\0cd\"}", 13));
  REQUIRE(nul);
  CHECK_THAT(nul->message, Catch::StartsWith("NUL byte at column 9"));
  auto nul_after = find_json_problem(std::string("{}\0{", 4));
  REQUIRE(nul_after);
  CHECK_FALSE(find_json_problem(R"({"t":"ab\u0000cd"})"));  // escaped, it is a character

  for (const char* big : {R"({"f":1e309})", R"({"f":[0,-1e309]})", R"({"f":1e99999})"}) {
    auto range = find_json_problem(big);
    REQUIRE(range);
    CHECK_THAT(range->message, Catch::StartsWith("number ") && Catch::Contains("is out of range"));
    CHECK(range->key == "f");
  }
  CHECK_FALSE(find_json_problem(R"({"f":1.7976931348623157e308,"g":1e-400,"h":18446744073709551616})"));

  auto syntax = find_json_problem(R"({"n":3)");
  REQUIRE(syntax);
  CHECK_THAT(syntax->message, Catch::StartsWith("malformed JSON at column 7: syntax error"));
  auto lines = find_json_problem("{\n\"n\":\n}");
  REQUIRE(lines);
  CHECK_THAT(lines->message, Catch::StartsWith("malformed JSON at line 3, column 1: "));
}

TEST_CASE("check_sample refuses json samples that readers would take differently") {
  const tensor_spec spec{"j", dtype::json, "json", std::nullopt};
  CHECK(refusal(spec, sample::of_json(nested(max_json_depth))).empty());
  CHECK_THAT(refusal(spec, sample::of_json(nested(max_json_depth + 1))),
             Catch::Contains("tensor 'j'") && Catch::Contains("nested deeper than 128 levels"));
  CHECK_THAT(refusal(spec, sample::of_json(R"({"a":1,"a":2})")), Catch::Contains("duplicate key 'a'"));
  CHECK_THAT(refusal(spec, sample::of_json(std::string("{}\0{", 4))), Catch::Contains("NUL byte"));
  CHECK_THAT(refusal(spec, sample::of_json("1e309")), Catch::Contains("out of range"));
}

TEST_CASE("check_sample bounds the number of dimensions") {
  const tensor_spec spec{"x", dtype::uint8, "generic", std::nullopt};
  CHECK(refusal(spec, sample{dtype::uint8, shape_t(max_ndim, 1), "\x01"}).empty());
  CHECK_THAT(refusal(spec, sample{dtype::uint8, shape_t(max_ndim + 1, 1), "\x01"}),
             Catch::Contains("more than 32 dimensions"));
}
