// Fuzzes the JSON Lines row decoder of `serialake append` (cli::read_row) against
// a schema of every dtype (row_schema.hpp).
//
// Input: flags:u8 | line. Flag bit 0: --allow-missing.
// Property (json_codec.hpp): a row that decodes, written as `cat` writes it,
// decodes to the same samples.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/cli/json_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/row_schema.hpp"

using namespace serialake;

namespace {

const std::string dataset = "fuzz.serialake";

bool same(const row& a, const row& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || a[i].second.type != b[i].second.type ||
        a[i].second.shape != b[i].second.shape || a[i].second.data != b[i].second.data)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto specs = fuzz::row_specs();
  const bool allow_missing = data[0] & 1;
  const std::string line(reinterpret_cast<const char*>(data) + 1, size - 1);
  row r;
  if (!fuzz::answers([&] { r = cli::read_row(line, 1, specs, dataset, allow_missing); })) return 0;

  std::vector<std::pair<const tensor_spec*, sample>> fields;
  for (auto& [name, s] : r) fields.emplace_back(&specs.at(name), s);
  std::string written;
  cli::write_row(fields, written);
  row again;
  fuzz::check(fuzz::answers([&] { again = cli::read_row(written, 1, specs, dataset, allow_missing); }),
              "a row written as cat writes it does not read back");
  fuzz::check(same(r, again), "a row written and read back differs");
  return 0;
}
