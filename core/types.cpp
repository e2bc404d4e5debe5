#include "core/types.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace serialake {
namespace {

struct dtype_info {
  dtype type;
  const char* name;
  size_t size;
};

constexpr dtype_info infos[] = {
  {dtype::boolean, "bool", 1},   {dtype::uint8, "uint8", 1},
  {dtype::uint16, "uint16", 2},  {dtype::uint32, "uint32", 4},
  {dtype::uint64, "uint64", 8},  {dtype::int8, "int8", 1},
  {dtype::int16, "int16", 2},    {dtype::int32, "int32", 4},
  {dtype::int64, "int64", 8},    {dtype::float32, "float32", 4},
  {dtype::float64, "float64", 8}, {dtype::bytes, "bytes", 1},
  {dtype::text, "text", 1},      {dtype::json, "json", 1},
};

std::string shape_str(const shape_t& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

bool valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += len;
  }
  return true;
}

}  // namespace

const char* to_string(dtype t) noexcept {
  return infos[static_cast<size_t>(t)].name;
}

dtype parse_dtype(std::string_view name) {
  for (auto& i : infos)
    if (name == i.name) return i.type;
  if (name == "boolean") return dtype::boolean;
  if (name == "str" || name == "string") return dtype::text;
  throw error(errc::invalid_argument, "unknown dtype '" + std::string(name) +
                                          "' (expected bool, uint8..uint64, int8..int64, "
                                          "float32, float64, bytes, text or json)");
}

size_t item_size(dtype t) noexcept { return infos[static_cast<size_t>(t)].size; }

bool is_blob(dtype t) noexcept {
  return t == dtype::bytes || t == dtype::text || t == dtype::json;
}

void check_tensor_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (!ok)
    throw error(errc::invalid_argument,
                "invalid tensor name '" + std::string(name) +
                    "': use 1-64 characters from [A-Za-z0-9_.-], not starting with '.'");
}

sample sample::of_bytes(std::string b) {
  shape_t shp{b.size()};
  return sample{dtype::bytes, std::move(shp), std::move(b)};
}

sample sample::of_text(std::string s) {
  shape_t shp{s.size()};
  return sample{dtype::text, std::move(shp), std::move(s)};
}

sample sample::of_json(std::string s) {
  shape_t shp{s.size()};
  return sample{dtype::json, std::move(shp), std::move(s)};
}

uint64_t element_count(const shape_t& s) noexcept {
  uint64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

void check_sample(const tensor_spec& spec, const sample& s) {
  const std::string where = "tensor '" + spec.name + "'";
  if (s.type != spec.type)
    throw error(errc::schema_mismatch, where + " holds " + to_string(spec.type) +
                                           ", got a " + to_string(s.type) + " sample");
  if (is_blob(spec.type)) {
    if (s.shape.size() != 1 || s.shape[0] != s.data.size())
      throw error(errc::invalid_argument, where + ": a " + to_string(spec.type) +
                                              " sample's shape must be [byte count]");
    if (spec.type == dtype::text && !valid_utf8(s.data))
      throw error(errc::schema_mismatch, where + ": text sample is not valid UTF-8");
    if (spec.type == dtype::json && !nlohmann::json::accept(s.data))
      throw error(errc::schema_mismatch, where + ": json sample is not valid JSON");
    return;
  }
  if (s.shape.size() > 32)
    throw error(errc::invalid_argument, where + ": more than 32 dimensions");
  if (spec.shape && *spec.shape != s.shape)
    throw error(errc::schema_mismatch, where + " has fixed shape " + shape_str(*spec.shape) +
                                           ", got a sample of shape " + shape_str(s.shape));
  uint64_t want = element_count(s.shape) * item_size(spec.type);
  if (want != s.data.size())
    throw error(errc::invalid_argument,
                where + ": shape " + shape_str(s.shape) + " needs " + std::to_string(want) +
                    " bytes, got " + std::to_string(s.data.size()));
  if (spec.type == dtype::boolean)
    for (char c : s.data)
      if (c != 0 && c != 1)
        throw error(errc::schema_mismatch, where + ": bool elements must be 0 or 1");
}

}  // namespace serialake
