// Unit tests of the CLI's encodings: base64, samples <-> JSON, the .npy header.

#include <catch2/catch.hpp>
#include "tests/expect_code.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/base64.hpp"
#include "app/cli/json_codec.hpp"
#include "app/cli/npy.hpp"
#include "serialake/error.hpp"

using namespace serialake;
using serialake::test::code_of;
using serialake::test::expect_code;
using namespace serialake::cli;

namespace {

std::string to_json(const tensor_spec& spec, const sample& s) {
  std::string out;
  write_json(spec, s, out);
  return out;
}

sample from_json(const tensor_spec& spec, const std::string& text) {
  return read_json(spec, json::parse(text));
}

// The sample `text` decodes to, written back: must be `text` itself.
std::string roundtrip(const tensor_spec& spec, const std::string& text) {
  return to_json(spec, from_json(spec, text));
}

// What decoding `text` as a sample of `spec` does (errc{}: accepted).
errc decode_code(const tensor_spec& spec, const std::string& text) {
  return serialake::test::code_of([&] { from_json(spec, text); });
}

}  // namespace

TEST_CASE("base64 matches the RFC 4648 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto& [plain, coded] : vectors) {
    CHECK(base64_encode(plain) == coded);
    CHECK(base64_decode(coded) == plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < all.size(); n += 37) CHECK(base64_decode(base64_encode(all.substr(n))) == all.substr(n));
}

TEST_CASE("base64 refuses malformed text") {
  for (const char* bad : {"Zg=", "Zg=a", "Z===", "Zh==", "Zm9", "Zm9v\n", "Zm 9", "=Zm9", "Zg==Zm9v"})
    CHECK(expect_code(errc::invalid_argument, [&] { base64_decode(bad); }));
}

TEST_CASE("numeric samples become numbers or nested arrays following the shape") {
  tensor_spec i64{"x", dtype::int64, "generic", {}};
  CHECK(to_json(i64, sample::scalar<int64_t>(dtype::int64, -5)) == "-5");
  CHECK(to_json(i64, sample::of<int64_t>(dtype::int64, {1}, {1})) == "[1]");
  CHECK(to_json(i64, sample::of<int64_t>(dtype::int64, {}, {0})) == "[]");
  CHECK(to_json(i64, sample::of<int64_t>(dtype::int64, {1, 2, 3, 4, 5, 6}, {2, 3})) == "[[1,2,3],[4,5,6]]");
  CHECK(to_json(i64, sample::of<int64_t>(dtype::int64, {}, {2, 0})) == "[[],[]]");
  CHECK(from_json(i64, "[[],[]]").shape == shape_t{2, 0});
  CHECK(from_json(i64, "7").shape == shape_t{});
  CHECK(from_json(i64, "[[[1],[2]]]").shape == shape_t{1, 2, 1});
}

TEST_CASE("integers round-trip exactly at the edges of every integer dtype") {
  auto check = [](dtype t, const std::string& lo, const std::string& hi, const std::string& below,
                  const std::string& above) {
    tensor_spec spec{"x", t, "generic", {}};
    CHECK(roundtrip(spec, lo) == lo);
    CHECK(roundtrip(spec, hi) == hi);
    CHECK(decode_code(spec, below) == errc::schema_mismatch);
    CHECK(decode_code(spec, above) == errc::schema_mismatch);
    CHECK(decode_code(spec, "1.5") == errc::schema_mismatch);  // floats are refused, not rounded
    CHECK(decode_code(spec, "1e3") == errc::schema_mismatch);
    CHECK(decode_code(spec, "\"1\"") == errc::schema_mismatch);
  };
  check(dtype::int8, "-128", "127", "-129", "128");
  check(dtype::uint8, "0", "255", "-1", "256");
  check(dtype::int16, "-32768", "32767", "-32769", "32768");
  check(dtype::uint16, "0", "65535", "-1", "65536");
  check(dtype::int32, "-2147483648", "2147483647", "-2147483649", "2147483648");
  check(dtype::uint32, "0", "4294967295", "-1", "4294967296");
  check(dtype::int64, "-9223372036854775808", "9223372036854775807", "-9223372036854775809",
        "9223372036854775808");
  check(dtype::uint64, "0", "18446744073709551615", "-1", "18446744073709551616");
}

TEST_CASE("floats are written in the shortest text that reads back to the same bits") {
  tensor_spec f32{"x", dtype::float32, "generic", {}};
  tensor_spec f64{"x", dtype::float64, "generic", {}};
  CHECK(to_json(f32, sample::scalar<float>(dtype::float32, 0.1f)) == "0.1");
  CHECK(to_json(f64, sample::scalar<double>(dtype::float64, 0.1)) == "0.1");
  CHECK(to_json(f32, sample::scalar<float>(dtype::float32, 1.0f)) == "1.0");
  CHECK(to_json(f32, sample::scalar<float>(dtype::float32, -0.0f)) == "-0.0");
  CHECK(to_json(f64, sample::scalar<double>(dtype::float64, std::nan(""))) == "\"NaN\"");
  CHECK(to_json(f64, sample::scalar<double>(dtype::float64, -HUGE_VAL)) == "\"-Infinity\"");
  CHECK(std::signbit(from_json(f32, "-0.0").as<float>()[0]));
  CHECK(std::isnan(from_json(f32, "\"NaN\"").as<float>()[0]));
  CHECK(from_json(f64, "\"Infinity\"").as<double>()[0] == HUGE_VAL);
  CHECK(from_json(f64, "3").as<double>()[0] == 3.0);  // integers are fine for floats
  CHECK(roundtrip(f32, "3.4028235e+38") == "3.4028235e+38");
  CHECK(decode_code(f32, "3.5e+38") == errc::schema_mismatch);
  CHECK(roundtrip(f64, "5e-324") == "5e-324");

  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    uint32_t b32 = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b32, 4);
    if (std::isfinite(d)) {
      auto back = from_json(f64, to_json(f64, sample::scalar<double>(dtype::float64, d))).as<double>()[0];
      REQUIRE(std::memcmp(&back, &d, 8) == 0);
    }
    if (std::isfinite(f)) {
      auto back = from_json(f32, to_json(f32, sample::scalar<float>(dtype::float32, f))).as<float>()[0];
      REQUIRE(std::memcmp(&back, &f, 4) == 0);
    }
  }
}

TEST_CASE("bool, text, json and bytes samples have their own JSON forms") {
  tensor_spec b{"b", dtype::boolean, "generic", {}};
  CHECK(roundtrip(b, "[true,false]") == "[true,false]");
  CHECK(decode_code(b, "1") == errc::schema_mismatch);
  tensor_spec t{"t", dtype::text, "text", {}};
  CHECK(roundtrip(t, R"("quote \" backslash \\ newline \n tab \t é 日本")") ==
        R"("quote \" backslash \\ newline \n tab \t é 日本")");
  CHECK(decode_code(t, "3") == errc::schema_mismatch);
  tensor_spec j{"j", dtype::json, "json", {}};
  CHECK(roundtrip(j, R"({"z":1,"a":[1,2.5,null,"x"],"m":{}})") == R"({"z":1,"a":[1,2.5,null,"x"],"m":{}})");
  CHECK(roundtrip(j, "null") == "null");
  tensor_spec by{"by", dtype::bytes, "generic", {}};
  CHECK(from_json(by, "\"AAH/\"").data == std::string("\0\x01\xff", 3));
  CHECK(roundtrip(by, "\"\"") == "\"\"");
  CHECK(decode_code(by, "\"not base64!\"") == errc::invalid_argument);
}

TEST_CASE("ragged nesting and wrong shapes are refused with the element named") {
  tensor_spec i32{"x", dtype::int32, "generic", {}};
  auto message = [&](const std::string& text) {
    try {
      from_json(i32, text);
    } catch (const error& e) {
      return e.message();
    }
    return std::string("accepted");
  };
  CHECK_THAT(message("[[1,2],[3]]"), Catch::Contains("element [1] has 1 items, expected 2"));
  CHECK_THAT(message("[[1,2],3]"), Catch::Contains("element [1] is a number"));
  CHECK_THAT(message("[1,[2]]"), Catch::Contains("element [1] is an array"));
  CHECK_THAT(message("[1,\"a\"]"), Catch::Contains("element [1]: expected an integer"));
  tensor_spec fixed{"e", dtype::float32, "embedding", shape_t{3}};
  CHECK(decode_code(fixed, "[1,2]") == errc::schema_mismatch);
  CHECK(decode_code(fixed, "[1,2,3]") == errc{});  // accepted
}

TEST_CASE("the npy header is version 1.0, little-endian and aligns data to 64 bytes") {
  for (auto& shape : {shape_t{0}, shape_t{3}, shape_t{1000, 384}, shape_t{5, 3, 224, 224}}) {
    std::string h = npy_header(dtype::float32, shape);
    CHECK(h.size() % 64 == 0);
    CHECK(h.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
    CHECK(static_cast<size_t>(static_cast<unsigned char>(h[8]) | static_cast<unsigned char>(h[9]) << 8) ==
          h.size() - 10);
    CHECK(h.back() == '\n');
  }
  CHECK_THAT(npy_header(dtype::int64, {3}), Catch::Contains("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"));
  CHECK_THAT(npy_header(dtype::boolean, {2, 4}), Catch::Contains("'descr': '|b1'"));
  CHECK_THAT(npy_header(dtype::boolean, {2, 4}), Catch::Contains("'shape': (2, 4)"));
  CHECK(expect_code(errc::invalid_argument, [&] { npy_descr(dtype::text); }));
}
