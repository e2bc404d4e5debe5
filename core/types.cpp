#include "serialake/types.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "serialake/error.hpp"

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

// "column 7" in a one-line text (a JSON Line), else "line 2, column 7".
std::string position(std::string_view text, size_t at) {
  size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  line_start = line_start == std::string_view::npos || at == 0 ? 0 : line_start + 1;
  std::string col = "column " + std::to_string(at - line_start + 1);
  if (text.find('\n') == std::string_view::npos) return col;
  size_t line = 1;
  for (size_t i = 0; i < line_start; ++i) line += text[i] == '\n';
  return "line " + std::to_string(line) + ", " + col;
}

// nlohmann's SAX interface, building nothing: it only records the first problem
// find_json_problem refuses. Returning false stops the parser there.
class json_checker {
 public:
  using json = nlohmann::json;
  json_checker(std::string_view text, size_t outer) : text_(text), outer_(outer) {}

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(size_t) {
    keys_.emplace_back();
    return enter();
  }
  bool key(json::string_t& k) {
    if (depth_ == 1) key_ = k;
    if (!keys_.back().insert(k).second) return fail("duplicate key '" + k + "'");
    return true;
  }
  bool end_object() {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(size_t) { return enter(); }
  bool end_array() {
    --depth_;
    return true;
  }
  bool parse_error(size_t position_read, const std::string& token, const json::exception& ex) {
    // 406: a number that overflows a double ("1e309"); the parser reports it as
    // an error of the text, but it is one of the value.
    if (ex.id == 406) return fail("number " + token + " is out of range (JSON numbers must fit a float64)");
    // "[json.exception.parse_error.101] parse error at line 1, column 7: syntax
    // error ..." is relocated with our position(), which drops "line 1" in a JSON Line.
    std::string what = ex.what();
    const size_t colon = what.find(": ");
    what = colon == std::string::npos ? what : what.substr(colon + 2);
    problem_ = json_problem{
        "malformed JSON at " + position(text_, position_read == 0 ? 0 : position_read - 1) + ": " + what, {}};
    return false;
  }

  std::optional<json_problem> problem() const { return problem_; }

 private:
  bool enter() {
    if (++depth_ > max_json_depth + outer_)
      return fail("nested deeper than " + std::to_string(max_json_depth) + " levels");
    return true;
  }
  bool fail(std::string message) {
    problem_ = json_problem{std::move(message), key_};
    return false;
  }

  std::string_view text_;
  size_t outer_;
  size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;  ///< the keys seen so far of each open object
  std::string key_;  ///< the top-level object's current key
  std::optional<json_problem> problem_;
};

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

std::optional<uint64_t> data_bytes(dtype t, const shape_t& s) noexcept {
  uint64_t n = item_size(t);
  for (auto d : s)
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  return n;
}

std::optional<json_problem> find_json_problem(std::string_view text, size_t outer) {
  const size_t nul = text.find('\0');
  if (nul != std::string_view::npos)
    return json_problem{"NUL byte at " + position(text, nul) +
                            " (a JSON string writes it as \\u0000)",
                        {}};
  json_checker c(text, outer);
  nlohmann::json::sax_parse(text.begin(), text.end(), &c);
  return c.problem();
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
    if (spec.type == dtype::json)
      if (auto p = find_json_problem(s.data))
        throw error(errc::schema_mismatch, where + ": json sample refused: " + p->message);
    return;
  }
  if (s.shape.size() > max_ndim)
    throw error(errc::invalid_argument,
                where + ": more than " + std::to_string(max_ndim) + " dimensions");
  if (spec.shape && *spec.shape != s.shape)
    throw error(errc::schema_mismatch, where + " has fixed shape " + shape_str(*spec.shape) +
                                           ", got a sample of shape " + shape_str(s.shape));
  const auto want = data_bytes(spec.type, s.shape);
  if (!want)
    throw error(errc::invalid_argument,
                where + ": shape " + shape_str(s.shape) + " needs more than 2^64 bytes");
  if (*want != s.data.size())
    throw error(errc::invalid_argument,
                where + ": shape " + shape_str(s.shape) + " needs " + std::to_string(*want) +
                    " bytes, got " + std::to_string(s.data.size()));
  if (spec.type == dtype::boolean)
    for (char c : s.data)
      if (c != 0 && c != 1)
        throw error(errc::schema_mismatch, where + ": bool elements must be 0 or 1");
}

}  // namespace serialake
