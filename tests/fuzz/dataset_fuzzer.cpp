// Fuzzes whole-dataset recovery: a mutated directory image (dataset_image.hpp)
// is written to a fresh folder, then opened read-only and as a writer, its
// snapshot read and verified, a named commit made on it, and opened again.
//
// Errors are fine, but only serialake::error (fuzz::answers). Properties: no
// file outside the dataset's folder is read, whatever its log names; a writer
// that opened and committed leaves a dataset the next writer opens at that
// version (recovery is idempotent and never leaves what it refuses).

#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/file_io.hpp"
#include "core/store.hpp"
#include "tests/fuzz/dataset_image.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;

namespace {

// A few samples of each tensor (reading is per sample; more adds time, not paths).
constexpr uint64_t reads_per_tensor = 8;

open_options options(bool read_only) {
  open_options o;
  o.read_only = read_only;
  o.tuning.open_files = 2;  // small, so the cache's eviction runs too
  return o;
}

void read_all(const store& s) {
  auto snap = s.snapshot();
  for (auto& t : snap->tensors())
    for (uint64_t i = 0; i < std::min(snap->length(t.name), reads_per_tensor); ++i)
      fuzz::answers([&] { snap->read(t.name, i); });  // a corrupt sample leaves the others readable
  s.verify();
  s.log(true);
}

// The folder of the input being run; every read must stay inside it.
std::string inside;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  io::set_fault_hook([](const io::call& c) {
    // Opens and reads only: writes and syncs are the writer's, in the folder or its parent.
    if (c.kind == io::op::read ||
        (c.kind == io::op::open && (c.flags & O_ACCMODE) == O_RDONLY && !(c.flags & O_DIRECTORY))) {
      const std::string p = std::filesystem::path(c.path).lexically_normal().string();
      fuzz::check(p.rfind(inside, 0) == 0, "a file outside the dataset's folder was read");
    }
    return io::fault{};
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto files = fuzz::unpack_image(std::string_view(reinterpret_cast<const char*>(data), size));
  test::temp_dir dir;
  inside = std::filesystem::path(dir.path()).lexically_normal().string() + "/";
  fuzz::write_image(dir.path(), files);

  fuzz::answers([&] {
    auto s = store::open(dir.path(), options(true));
    read_all(*s);
    s->damage();
  });

  uint64_t committed = 0;
  fuzz::answers([&] {
    auto s = store::open(dir.path(), options(false));
    read_all(*s);
    committed = s->commit("fuzz").version;
    s->close();
  });
  if (committed) {
    const bool reopened = fuzz::answers([&] {
      auto s = store::open(dir.path(), options(false));
      fuzz::check(s->version() == committed, "a reopened writer does not see the last commit");
    });
    fuzz::check(reopened, "a dataset a writer committed to and closed does not open again");
  }
  return 0;
}
