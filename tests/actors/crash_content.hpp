#pragma once
// What the crash loop writes, derived from (seed, tensor, index) alone, so the
// test can check every visible sample (acknowledged or not) against what any
// child would have written at that index. Shared by tests/actors/crash_child.cpp
// and tests/actors/crash_loop_test.cpp.
//
// Tensors: the row group (written only as rows, so equal lengths at every
// commit): label int64 scalar (fixed shape []), emb float32 [8] (fixed),
// img uint8 (any shape), caption text. Solo tensors: blob (bytes, now and then
// past the write buffer so it goes to chunk files), and extras x0, x1, ...
// created by the children as they go (bytes, text, json in turn).

#include <cstdint>
#include <string>
#include <vector>

#include "core/format.hpp"
#include "serialake/types.hpp"

namespace serialake::test::crash {

inline const std::vector<std::string>& row_tensors() {
  static const std::vector<std::string> names{"label", "emb", "img", "caption"};
  return names;
}
inline constexpr const char* blob_tensor = "blob";
/// Most extra tensors the children create (x0 .. x5).
inline constexpr int max_extras = 6;
inline std::string extra_name(int k) { return "x" + std::to_string(k); }

/// splitmix64: a good 64-bit mix, so nearby indices give unrelated content.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The spec of each tensor the loop writes.
inline tensor_spec spec_of(const std::string& name) {
  if (name == "label") return {name, dtype::int64, "class_label", shape_t{}};
  if (name == "emb") return {name, dtype::float32, "embedding", shape_t{8}};
  if (name == "img") return {name, dtype::uint8, "image", {}};
  if (name == "caption") return {name, dtype::text, "text", {}};
  if (name == blob_tensor) return {name, dtype::bytes, "generic", {}};
  int k = std::stoi(name.substr(1));
  static const dtype kinds[] = {dtype::bytes, dtype::text, dtype::json};
  static const char* htypes[] = {"generic", "text", "json"};
  return {name, kinds[k % 3], htypes[k % 3], {}};
}

/// The sample every child writes at `index` of `tensor` in the run `seed`.
inline sample content(uint64_t seed, const std::string& tensor, uint64_t index) {
  uint64_t h = mix(seed ^ mix(format::hash(tensor.data(), tensor.size())) ^ mix(index + 1));
  auto next = [&h] { return h = mix(h); };
  std::string tag = tensor + "#" + std::to_string(index) + "#";
  if (tensor == "label") return sample::scalar<int64_t>(dtype::int64, int64_t(next() % 1000) - 500);
  if (tensor == "emb") {
    std::vector<float> v(8);
    for (auto& f : v) f = float(int64_t(next() % 20001) - 10000) / 64.0f;
    return sample::of<float>(dtype::float32, v, {8});
  }
  if (tensor == "img") {
    shape_t shp = next() % 2 ? shape_t{1 + next() % 24, 1 + next() % 24}
                             : shape_t{1 + next() % 16, 1 + next() % 16, 3};
    uint64_t n = 1;
    for (auto d : shp) n *= d;
    std::vector<uint8_t> px(n);
    for (auto& p : px) p = uint8_t(next());
    return sample::of<uint8_t>(dtype::uint8, px, shp);
  }
  // Blobs: mostly small (the log's inline path), 1 in 40 past the write buffer.
  size_t len = next() % 40 == 0 ? 64 * 1024 + next() % (192 * 1024) : next() % 700;
  std::string body(len, '\0');
  for (auto& c : body) c = char('a' + next() % 26);
  auto spec = spec_of(tensor);
  if (spec.type == dtype::text) return sample::of_text(tag + body);
  if (spec.type == dtype::json)
    return sample::of_json("{\"tensor\":\"" + tensor + "\",\"index\":" + std::to_string(index) +
                           ",\"body\":\"" + body + "\"}");
  for (size_t i = 0; i < body.size(); i += 7) body[i] = char(next());  // any byte
  return sample::of_bytes(tag + body);
}

/// The hash a child reports for an acknowledged sample: of its shape and bytes.
inline uint64_t content_hash(const sample& s) {
  std::string key;
  for (auto d : s.shape) key += std::to_string(d) + "x";
  key += "|" + s.data;
  return format::hash(key.data(), key.size());
}

}  // namespace serialake::test::crash
