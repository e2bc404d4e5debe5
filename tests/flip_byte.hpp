#pragma once
// Damages one byte of a file in place, as bit rot or a stray write would.

#include <cstdint>
#include <fstream>
#include <string>

namespace serialake::test {

/// XORs the byte at `at` of `path` with 0x5a (never a no-op).
inline void flip_byte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(at));
  char c = static_cast<char>(f.get());
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x5a));
}

}  // namespace serialake::test
