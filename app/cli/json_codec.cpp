#include "app/cli/json_codec.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/base64.hpp"
#include "serialake/error.hpp"

namespace serialake::cli {
namespace {

// -- writing -------------------------------------------------------------------

template <class T>
void put_element(const char* p, std::string& out) {
  T x;
  std::memcpy(&x, p, sizeof(T));
  char buf[64];
  if constexpr (std::is_same_v<T, bool>) {
    out += x ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(x)) {
      out += "\"NaN\"";
    } else if (std::isinf(x)) {
      out += x > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    } else {
      // Shortest text that reads back to the same T (to_chars without a
      // precision). A float32 is printed as a float, not as the longer double.
      auto r = std::to_chars(buf, buf + sizeof buf, x);
      std::string_view txt(buf, static_cast<size_t>(r.ptr - buf));
      out += txt;
      // "1" or "-0" would read back as an integer (and -0 would lose its sign).
      if (txt.find_first_of(".e") == std::string_view::npos) out += ".0";
    }
  } else {
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    out.append(buf, r.ptr);
  }
}

// Writes the elements from `p` as nested arrays following shape[dim...].
template <class T>
void put_array(const char*& p, const shape_t& shape, size_t dim, std::string& out) {
  if (dim == shape.size()) {
    put_element<T>(p, out);
    p += sizeof(T);
    return;
  }
  out += '[';
  for (uint64_t i = 0; i < shape[dim]; ++i) {
    if (i) out += ',';
    put_array<T>(p, shape, dim + 1, out);
  }
  out += ']';
}

// Calls f.template operator()<T>() with the C++ type of a numeric dtype.
template <class F>
decltype(auto) with_type(dtype t, F&& f) {
  switch (t) {
    case dtype::boolean: return f(bool{});
    case dtype::uint8: return f(uint8_t{});
    case dtype::uint16: return f(uint16_t{});
    case dtype::uint32: return f(uint32_t{});
    case dtype::uint64: return f(uint64_t{});
    case dtype::int8: return f(int8_t{});
    case dtype::int16: return f(int16_t{});
    case dtype::int32: return f(int32_t{});
    case dtype::int64: return f(int64_t{});
    case dtype::float32: return f(float{});
    case dtype::float64: return f(double{});
    default: break;
  }
  throw error(errc::internal, std::string("not a numeric dtype: ") + to_string(t));
}

// -- reading -------------------------------------------------------------------

const char* type_name(const json& v) { return v.type_name(); }

// The dtype of an integer C++ type, for messages.
template <class T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<T, uint8_t>) return dtype::uint8;
  else if constexpr (std::is_same_v<T, uint16_t>) return dtype::uint16;
  else if constexpr (std::is_same_v<T, uint32_t>) return dtype::uint32;
  else if constexpr (std::is_same_v<T, uint64_t>) return dtype::uint64;
  else if constexpr (std::is_same_v<T, int8_t>) return dtype::int8;
  else if constexpr (std::is_same_v<T, int16_t>) return dtype::int16;
  else if constexpr (std::is_same_v<T, int32_t>) return dtype::int32;
  else return dtype::int64;
}

[[noreturn]] void bad_value(const std::string& where, const std::string& what) {
  throw error(errc::schema_mismatch, (where.empty() ? "" : "element " + where + ": ") + what);
}

// `where` is never empty here: the top level cannot be mis-nested.
[[noreturn]] void not_rectangular(const std::string& where, const std::string& what) {
  throw error(errc::schema_mismatch,
              "element " + where + " " + what + " (the nested arrays are not rectangular)");
}

template <class T>
T to_element(const json& v, const std::string& where) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) bad_value(where, std::string("expected true or false, got ") + type_name(v));
    return v.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    double d;
    if (v.is_number()) {
      d = v.get<double>();
    } else if (v.is_string() && v.get_ref<const std::string&>() == "NaN") {
      d = std::numeric_limits<double>::quiet_NaN();
    } else if (v.is_string() && v.get_ref<const std::string&>() == "Infinity") {
      d = std::numeric_limits<double>::infinity();
    } else if (v.is_string() && v.get_ref<const std::string&>() == "-Infinity") {
      d = -std::numeric_limits<double>::infinity();
    } else {
      bad_value(where, std::string("expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got ") +
                           (v.is_string() ? "the string " + v.dump() : type_name(v)));
    }
    if constexpr (std::is_same_v<T, float>) {
      // Finite doubles at or past this bound would round to infinity as float32.
      const double limit = std::ldexp(2.0 - std::ldexp(1.0, -24), 127);
      if (std::isfinite(d) && std::fabs(d) >= limit)
        bad_value(where, v.dump() + " is out of range for float32");
    }
    return static_cast<T>(d);
  } else {
    // Integers must be exact: JSON floats (1.5, 1e3) are refused, not rounded.
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        bad_value(where, v.dump() + " is out of range for " + to_string(dtype_of<T>()));
      return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
      int64_t i = v.get<int64_t>();
      bool ok = std::is_unsigned_v<T> ? i >= 0 && static_cast<uint64_t>(i) <= std::numeric_limits<T>::max()
                                      : i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                            i <= static_cast<int64_t>(std::numeric_limits<T>::max());
      if (!ok) bad_value(where, v.dump() + " is out of range for " + to_string(dtype_of<T>()));
      return static_cast<T>(i);
    }
    if (v.is_number_float()) bad_value(where, "expected an integer, got " + v.dump());
    bad_value(where, std::string("expected an integer, got ") + type_name(v));
  }
}

// Walks nested arrays, checking each level has shape[dim] items, and appends the
// elements to `data`.
template <class T>
void fill(const json& v, const shape_t& shape, size_t dim, std::string& where, std::string& data) {
  if (dim == shape.size()) {
    if (v.is_array())
      not_rectangular(where, "is an array where a number was expected");
    T x = to_element<T>(v, where);
    data.append(reinterpret_cast<const char*>(&x), sizeof(T));
    return;
  }
  if (!v.is_array())
    not_rectangular(where, std::string("is a ") + type_name(v) + " where an array was expected");
  if (v.size() != shape[dim])
    not_rectangular(where, "has " + std::to_string(v.size()) + " items, expected " +
                               std::to_string(shape[dim]));
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t mark = where.size();
    where += "[" + std::to_string(i) + "]";
    fill<T>(v[i], shape, dim + 1, where, data);
    where.resize(mark);
  }
}

std::string tensor_list(const std::map<std::string, tensor_spec>& specs) {
  std::string out;
  for (auto& [name, spec] : specs) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

void append_json_string(const std::string& s, std::string& out) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json(const tensor_spec& spec, const sample& s, std::string& out) {
  // A stored sample is checked as an appended one is: its shape must match its
  // bytes (put_array trusts it) and a json document must be one every reader
  // takes the same way, on a small stack (dump recurses).
  try {
    check_sample(spec, s);
  } catch (const error& e) {
    throw error(errc::corrupt, "stored sample refused: " + e.message());
  }
  switch (spec.type) {
    case dtype::bytes:
      out += '"';
      out += base64_encode(s.data);
      out += '"';
      return;
    case dtype::text:
      append_json_string(s.data, out);
      return;
    case dtype::json:
      // Re-dumped compactly: a stored document may span lines, a JSON Line may not.
      out += json::parse(s.data).dump(-1, ' ', false, json::error_handler_t::replace);
      return;
    default:
      break;
  }
  with_type(spec.type, [&](auto tag) {
    using T = decltype(tag);
    const char* p = s.data.data();
    put_array<T>(p, s.shape, 0, out);
  });
}

void write_row(const std::vector<std::pair<const tensor_spec*, sample>>& fields, std::string& out) {
  out += '{';
  bool first = true;
  for (auto& [spec, s] : fields) {
    if (!first) out += ',';
    first = false;
    append_json_string(spec->name, out);
    out += ':';
    write_json(*spec, s, out);
  }
  out += '}';
}

sample read_json(const tensor_spec& spec, const json& v) {
  sample s;
  switch (spec.type) {
    case dtype::bytes:
      if (!v.is_string()) bad_value("", std::string("expected a base64 string, got ") + type_name(v));
      s = sample::of_bytes(base64_decode(v.get_ref<const std::string&>()));
      break;
    case dtype::text:
      if (!v.is_string()) bad_value("", std::string("expected a string, got ") + type_name(v));
      s = sample::of_text(v.get<std::string>());
      break;
    case dtype::json:
      s = sample::of_json(v.dump(-1, ' ', false, json::error_handler_t::strict));
      break;
    default: {
      // The shape is read off the nesting along the first items, then every
      // item is checked against it.
      // Nothing is reserved from the shape: until fill has checked every item,
      // its product is only a claim (2 x 100,000 items can claim 10^10 elements).
      shape_t shape;
      for (const json* p = &v; p->is_array(); p = &(*p)[0]) {
        if (shape.size() == max_ndim)
          bad_value("", "nested deeper than " + std::to_string(max_ndim) + " arrays (a sample has at most " +
                            std::to_string(max_ndim) + " dimensions)");
        shape.push_back(p->size());
        if (p->empty()) break;
      }
      s.type = spec.type;
      s.shape = shape;
      std::string where;
      with_type(spec.type, [&](auto tag) {
        using T = decltype(tag);
        fill<T>(v, shape, 0, where, s.data);
      });
    }
  }
  check_sample(spec, s);
  return s;
}

// Every tensor must be named unless `allow_missing`: rows that skip tensors leave
// them shorter, and later rows no longer line up.
row read_row(const std::string& line, uint64_t lineno, const std::map<std::string, tensor_spec>& specs,
             const std::string& path, bool allow_missing) {
  const std::string where = "line " + std::to_string(lineno);
  // Checked before json::parse, which would stop at a NUL, keep one of two equal
  // keys, throw a non-parse error for 1e309 and take any depth.
  if (auto p = find_json_problem(line, 1))
    throw error(errc::invalid_argument,
                where + (p->key.empty() ? "" : " field '" + p->key + "'") + ": " + p->message);
  json v = json::parse(line);
  if (!v.is_object())
    throw error(errc::invalid_argument, where + ": expected a JSON object {\"tensor\": value, ...}, got " +
                                            std::string(v.type_name()));
  if (v.empty()) throw error(errc::invalid_argument, where + ": the object names no tensor");
  row r;
  for (auto& [name, value] : v.items()) {
    const std::string field = where + " field '" + name + "'";
    auto it = specs.find(name);
    if (it == specs.end())
      throw error(errc::schema_mismatch,
                  field + ": no such tensor in " + path + " (tensors: " + tensor_list(specs) + ")");
    try {
      r.emplace_back(name, read_json(it->second, value));
    } catch (const error& e) {
      throw error(e.code(), field + ": " + e.message());
    }
  }
  if (!allow_missing && r.size() < specs.size()) {
    std::string missing;
    for (auto& [name, spec] : specs)
      if (!v.contains(name)) missing += (missing.empty() ? "" : ", ") + name;
    throw error(errc::schema_mismatch, where + ": missing tensor" + (r.size() + 1 < specs.size() ? "s " : " ") +
                                           missing + " (every row names every tensor; --allow-missing "
                                                     "appends rows that name some)");
  }
  return r;
}

}  // namespace serialake::cli
