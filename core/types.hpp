#pragma once
// The data model: dtypes, tensor specs, samples and rows.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serialake {

/// Element type of a tensor. bytes/text/json are variable-length: one sample is
/// one blob, its shape is [byte count].
enum class dtype : uint8_t {
  boolean, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
  float32, float64, bytes, text, json,
};

/// Name as written in dataset.json and on the CLI ("bool", "uint8", "float32", ...).
const char* to_string(dtype t) noexcept;
/// Parses a dtype name; throws errc::invalid_argument naming the bad text.
dtype parse_dtype(std::string_view name);
/// Bytes per element; 1 for the variable-length dtypes.
size_t item_size(dtype t) noexcept;
/// True for bytes, text and json.
bool is_blob(dtype t) noexcept;

/// A shape: one extent per dimension; [] is a scalar.
using shape_t = std::vector<uint64_t>;

/// Declares a tensor. `shape`, when set, fixes every sample's shape.
struct tensor_spec {
  std::string name;
  dtype type = dtype::bytes;
  std::string htype = "generic";  ///< a hint for readers: image, class_label, ...
  std::optional<shape_t> shape;   ///< fixed sample shape, if any
};

/// Throws errc::invalid_argument unless `name` is 1-64 chars of [A-Za-z0-9_.-]
/// not starting with '.' (tensor names become directory names).
void check_tensor_name(std::string_view name);

/// One sample: a dtype, a shape and the elements' bytes (little-endian, row-major).
struct sample {
  dtype type = dtype::bytes;
  shape_t shape;
  std::string data;

  /// A blob of raw bytes.
  static sample of_bytes(std::string b);
  /// A UTF-8 string.
  static sample of_text(std::string s);
  /// A JSON document given as text.
  static sample of_json(std::string s);
  /// A numeric array of shape `shp` (element count must match).
  template <class T>
  static sample of(dtype t, const std::vector<T>& v, shape_t shp) {
    sample s{t, std::move(shp), std::string(v.size() * sizeof(T), '\0')};
    if (!v.empty()) std::memcpy(s.data.data(), v.data(), s.data.size());
    return s;
  }
  /// A numeric scalar (shape []).
  template <class T>
  static sample scalar(dtype t, T x) {
    return of<T>(t, std::vector<T>{x}, shape_t{});
  }
  /// Elements reinterpreted as T (caller picks the T matching `type`).
  template <class T>
  std::vector<T> as() const {
    std::vector<T> v(data.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), data.data(), v.size() * sizeof(T));
    return v;
  }
};

/// A sample whose bytes stay with the caller (a numpy buffer, a mapped file):
/// dataset::append copies them once, into memory the library reuses.
struct sample_view {
  dtype type = dtype::bytes;
  const uint64_t* shape = nullptr;  ///< `ndim` extents (may be null when ndim is 0)
  size_t ndim = 0;
  const void* data = nullptr;
  size_t size = 0;  ///< bytes at `data`
};

/// Product of the extents (1 for a scalar).
uint64_t element_count(const shape_t& s) noexcept;

/// Checks `s` against `spec`: dtype, fixed shape, byte count, valid UTF-8 for text,
/// valid JSON for json, 0/1 for bool. Throws schema_mismatch or invalid_argument
/// naming the tensor.
void check_sample(const tensor_spec& spec, const sample& s);

/// One sample per tensor, appended together.
using row = std::vector<std::pair<std::string, sample>>;

}  // namespace serialake
