#pragma once
// Counting this process's resources through /proc: open files, threads, memory.

#include <dirent.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace serialake::test {

/// Entries of a /proc listing such as "/proc/self/fd" or "/proc/self/task".
inline size_t proc_entries(const char* dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir);
  while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

/// Resets this process's peak resident set size (VmHWM) to its current size;
/// false if the kernel refuses.
inline bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  return static_cast<bool>(f << "5") && static_cast<bool>(f.flush());
}

/// This process's peak resident set size (VmHWM) in bytes since it started or
/// since reset_peak_rss.
inline size_t peak_rss() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmHWM:  123 kB"
  return 0;
}

}  // namespace serialake::test
