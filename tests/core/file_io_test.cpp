// The file layer: the sync group's helper threads.

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>

#include <memory>
#include <vector>

#include "core/file_io.hpp"
#include "tests/proc_count.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

size_t threads_now() { return serialake::test::proc_entries("/proc/self/task"); }

}  // namespace

TEST_CASE("a sync_group's destructor leaves no helper threads behind") {
  temp_dir d;
  std::vector<io::file> files;
  for (int i = 0; i < 4; ++i)
    files.push_back(io::file::open(d / ("f" + std::to_string(i)), O_WRONLY | O_CREAT));
  std::vector<io::file*> ptrs;
  for (auto& f : files) ptrs.push_back(&f);
  const size_t before = threads_now();
  {
    io::sync_group g;
    g.sync(ptrs);  // three helpers for the three files past the first
    g.sync(ptrs);  // reused, not started again
    CHECK(threads_now() == before + 3);
  }
  CHECK(threads_now() == before);
}
