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

/// Most dimensions a numeric sample (or a fixed shape) may have.
inline constexpr size_t max_ndim = 32;

/// Deepest nesting of arrays and objects in a json sample (a scalar is depth 0).
/// Bounded so that every reader, recursive ones included, handles any sample on a
/// small stack; serde_json's default recursion limit is the same.
inline constexpr size_t max_json_depth = 128;

/// Bytes of the elements of a `t` sample of shape `s` (element count times item
/// size), or nullopt if that product does not fit in 64 bits: shapes come from
/// users and files, so no caller may multiply extents unchecked.
std::optional<uint64_t> data_bytes(dtype t, const shape_t& s) noexcept;

/// Why a JSON text is refused, as found by find_json_problem.
struct json_problem {
  /// What is wrong, located by line and column for malformed text and NUL bytes
  /// ("malformed JSON at column 7: ...", "duplicate key 'a'").
  std::string message;
  /// When the text is an object: the key whose value holds the problem, if known.
  std::string key;
};

/// Checks that `text` is one JSON document every reader takes the same way:
/// well-formed, no NUL byte (nlohmann's parser would stop at it), no duplicate
/// key in any object (parsers keep one or the other), numbers that fit a
/// float64, and nested at most max_json_depth levels below `outer` levels
/// (outer = 1 for a row object whose values are samples). Returns the first
/// problem, or nullopt.
std::optional<json_problem> find_json_problem(std::string_view text, size_t outer = 0);

/// Checks `s` against `spec`: dtype, number of dimensions, fixed shape, byte
/// count (overflow included), valid UTF-8 for text, JSON that find_json_problem
/// accepts for json, 0/1 for bool. Throws schema_mismatch or invalid_argument
/// naming the tensor.
void check_sample(const tensor_spec& spec, const sample& s);

/// One sample per tensor, appended together.
using row = std::vector<std::pair<std::string, sample>>;

/// One commit as listed by log().
struct commit_info {
  uint64_t version = 0;
  int64_t time_ms = 0;     ///< wall clock, ms since the epoch
  uint64_t lock_gen = 0;   ///< fencing generation of the writer that committed
  std::string message;     ///< empty for commits made by group commit or flush
  uint64_t samples = 0;    ///< samples added by this commit
};

/// Samples a commit added to one tensor: indices [begin, end).
struct tensor_range {
  std::string tensor;
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// A new commit, as subscribers hear of it (dataset::subscribe).
struct commit_event {
  commit_info commit;          ///< the (last) commit
  uint64_t first_version = 0;  ///< == commit.version, or older if commits were merged
  /// Tensors that gained samples, with their new samples; empty for a commit
  /// that added none (a named commit of nothing new).
  std::vector<tensor_range> ranges;
};

}  // namespace serialake
