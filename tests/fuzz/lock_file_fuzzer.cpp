// Fuzzes the lock file's content (core/lock_file.hpp): a temporary dataset whose
// lock file holds the input, judged the way `serialake info` and `unlock` judge
// it, through the file lock backend's public holder() and unlock().
//
// Property: after unlock (without force) succeeds, the lock is free.

#include <cstdint>
#include <fstream>
#include <string>

#include "core/format.hpp"
#include "core/lock_file.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  test::temp_dir dir;
  std::ofstream(dir / format::schema_file) << "{}\n";  // the backend only asks that it exists
  std::ofstream(dir / format::lock_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  file_lock_backend_impl backend;
  const lock_settings s;
  fuzz::answers([&] { backend.holder(dir.path(), s); });
  if (fuzz::answers([&] { backend.unlock(dir.path(), false, s); }))
    fuzz::check(!backend.holder(dir.path(), s), "the lock is still held after unlock succeeded");
  return 0;
}
