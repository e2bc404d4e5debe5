#pragma once
// A dataset directory as one fuzz input: the files a dataset holds, serialized.
//
//   image   := flags:u8 | file*
//   file    := path_len:u8 | path | size:u32 LE | bytes
//   flags   bit 0: fix the body hashes of commits.log's records (record_hashes.hpp)
//
// Paths are relative to the dataset: dataset.json, commits.log, commits.mark,
// lock, chunks/<tensor>/<file>. Any other path (an absolute one, "..", deeper
// folders) is dropped, so an input can only ever write inside its own folder.
// A file cut short by the end of the input keeps what is there.

#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/file_io.hpp"
#include "core/format.hpp"
#include "tests/fuzz/record_hashes.hpp"

namespace serialake::fuzz {

using image_files = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline bool plain_name(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

inline bool allowed_path(std::string_view p) {
  if (p == format::schema_file || p == format::log_file || p == format::mark_file || p == format::lock_file)
    return true;
  const std::string_view dir = std::string_view(format::chunk_dir);
  if (p.size() <= dir.size() + 1 || p.substr(0, dir.size()) != dir || p[dir.size()] != '/') return false;
  p.remove_prefix(dir.size() + 1);
  const size_t slash = p.find('/');
  return slash != std::string_view::npos && plain_name(p.substr(0, slash)) &&
         plain_name(p.substr(slash + 1));
}

}  // namespace detail

/// Serializes `files` (flags 0).
inline std::string pack_image(const image_files& files, uint8_t flags = 0) {
  std::string out(1, static_cast<char>(flags));
  for (auto& [path, bytes] : files) {
    out += static_cast<char>(path.size());
    out += path;
    const auto n = static_cast<uint32_t>(bytes.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out += bytes;
  }
  return out;
}

/// The files of an image, allowed paths only, commits.log's hashes fixed if the
/// flags say so.
inline image_files unpack_image(std::string_view in) {
  image_files out;
  if (in.empty()) return out;
  const uint8_t flags = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  while (!in.empty()) {
    const size_t name_len = static_cast<uint8_t>(in[0]);
    if (in.size() < 1 + name_len + 4) break;
    std::string path(in.substr(1, name_len));
    uint32_t n;
    std::memcpy(&n, in.data() + 1 + name_len, 4);
    in.remove_prefix(1 + name_len + 4);
    std::string bytes(in.substr(0, n));
    in.remove_prefix(bytes.size());
    if (!detail::allowed_path(path)) continue;
    if ((flags & 1) && path == format::log_file) fix_record_hashes(bytes);
    out.emplace_back(std::move(path), std::move(bytes));
  }
  return out;
}

/// Writes the files into `dir` (plain writes: no fsync, a fuzz input need not
/// survive a crash).
inline void write_image(const std::string& dir, const image_files& files) {
  for (auto& [path, bytes] : files) {
    const std::string full = dir + "/" + path;
    io::make_dirs(io::parent_dir(full));
    std::ofstream(full, std::ios::binary | std::ios::trunc).write(bytes.data(),
                                                                  static_cast<std::streamsize>(bytes.size()));
  }
}

/// The files of the dataset at `dir` that an image holds, for seeds.
inline image_files read_image(const std::string& dir) {
  image_files out;
  for (const char* f : {format::schema_file, format::log_file, format::mark_file, format::lock_file})
    if (io::exists(dir + "/" + f)) out.emplace_back(f, io::read_file(dir + "/" + f));
  const std::string chunks = dir + "/" + format::chunk_dir;
  for (auto& tensor : io::list_dir(chunks))
    for (auto& name : io::list_dir(chunks + "/" + tensor)) {
      const std::string rel = std::string(format::chunk_dir) + "/" + tensor + "/" + name;
      out.emplace_back(rel, io::read_file(dir + "/" + rel));
    }
  return out;
}

}  // namespace serialake::fuzz
