// Fuzzes base64 decoding (app/cli/base64.hpp).
//
// Properties: decoding is strict, so an accepted text is the one encoding of its
// bytes (encode(decode(t)) == t); any bytes survive encode then decode.

#include <cstdint>
#include <string>

#include "core/base64.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace serialake;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string bytes;
  if (fuzz::answers([&] { bytes = base64_decode(in); }))
    fuzz::check(base64_encode(bytes) == in, "two base64 texts decode to the same bytes");
  fuzz::check(base64_decode(base64_encode(in)) == in, "encode then decode changes the bytes");
  return 0;
}
