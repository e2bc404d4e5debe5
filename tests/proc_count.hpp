#pragma once
// Counting this process's resources through /proc: open files, threads.

#include <dirent.h>

#include <cstddef>

namespace serialake::test {

/// Entries of a /proc listing such as "/proc/self/fd" or "/proc/self/task".
inline size_t proc_entries(const char* dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir);
  while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

}  // namespace serialake::test
