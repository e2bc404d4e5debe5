// Fuzzes dataset.json: read_schema on any text.
//
// Property: a schema that reads writes back (write_schema) to one that reads
// the same.

#include <cstdint>
#include <fstream>
#include <string>

#include "core/format.hpp"
#include "core/schema.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;

namespace {

bool same(const std::vector<schema_tensor>& a, const std::vector<schema_tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].spec.name != b[i].spec.name || a[i].spec.type != b[i].spec.type ||
        a[i].spec.htype != b[i].spec.htype || a[i].spec.shape != b[i].spec.shape || a[i].since != b[i].since)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  test::temp_dir dir;
  std::ofstream(dir / format::schema_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  std::vector<schema_tensor> tensors;
  if (!fuzz::answers([&] { tensors = read_schema(dir.path()); })) return 0;
  test::temp_dir again;
  write_schema(again.path(), tensors);
  fuzz::check(same(read_schema(again.path()), tensors), "a schema read and written back reads otherwise");
  return 0;
}
