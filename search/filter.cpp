// The checks of a search request: tensor, queries, row filter.

#include "search/filter.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "search/kernels.hpp"
#include "serialake/error.hpp"

namespace serialake::search_detail {
namespace {

std::string shape_text(const tensor_spec& s) {
  if (!s.shape) return "no fixed shape";
  std::string t = "shape [";
  for (size_t i = 0; i < s.shape->size(); ++i) t += (i ? ", " : "") + std::to_string((*s.shape)[i]);
  return t + "]";
}

bool is_integer(dtype t) noexcept {
  return t != dtype::float32 && t != dtype::float64 && !is_blob(t);
}

// The value of one integer sample; nullopt for a uint64 beyond int64 (it
// matches no filter value).
template <class T>
std::optional<int64_t> load(const char* p) {
  T x;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::is_same_v<T, uint64_t>)
    if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(x);
}

std::optional<int64_t> value_of(dtype t, const char* p) {
  switch (t) {
    case dtype::boolean:
    case dtype::uint8: return load<uint8_t>(p);
    case dtype::uint16: return load<uint16_t>(p);
    case dtype::uint32: return load<uint32_t>(p);
    case dtype::uint64: return load<uint64_t>(p);
    case dtype::int8: return load<int8_t>(p);
    case dtype::int16: return load<int16_t>(p);
    case dtype::int32: return load<int32_t>(p);
    default: return load<int64_t>(p);
  }
}

}  // namespace

prepared prepare(const query_batch& b, size_t d, metric m, std::string_view tensor) {
  if (b.count && !b.data) throw error(errc::invalid_argument, "queries: no data for " + std::to_string(b.count) + " queries");
  if (b.count && b.dim != d)
    throw error(errc::invalid_argument, "queries have dimension " + std::to_string(b.dim) + ", tensor '" +
                                            std::string(tensor) + "' has " + std::to_string(d));
  prepared p{std::vector<float>(b.data, b.data + b.count * d), std::vector<float>(b.count), b.count, d};
  for (size_t i = 0; i < p.n; ++i) {
    float* q = p.q.data() + i * d;
    for (size_t k = 0; k < d; ++k)
      if (!std::isfinite(q[k]))
        throw error(errc::invalid_argument, "query " + std::to_string(i) + " holds " +
                                                (std::isnan(q[k]) ? "NaN" : "an infinity") + " at element " +
                                                std::to_string(k));
    squared_norms(q, 1, d, &p.norm2[i]);
    if (m == metric::cos) {
      if (p.norm2[i] == 0)
        throw error(errc::invalid_argument, "query " + std::to_string(i) + " is zero: it has no cosine");
      const float inv = 1 / std::sqrt(p.norm2[i]);
      for (size_t k = 0; k < d; ++k) q[k] *= inv;
    }
  }
  return p;
}

size_t embedding_dim(const snapshot& snap, std::string_view tensor) {
  const tensor_spec& s = snap.spec(tensor);
  if (s.type != dtype::float32 || !s.shape || s.shape->size() != 1 || (*s.shape)[0] == 0)
    throw error(errc::schema_mismatch, "tensor '" + s.name +
                                           "' is not an embedding: search needs float32 samples of a fixed "
                                           "shape [d], it holds " +
                                           to_string(s.type) + " with " + shape_text(s));
  return (*s.shape)[0];
}

std::pair<uint64_t, uint64_t> row_range(const snapshot& snap, std::string_view tensor, const search_filter& f) {
  const uint64_t n = snap.length(tensor);
  if (!f.rows) return {0, n};
  auto [b, e] = *f.rows;
  if (b > e || e > n)
    throw error(errc::invalid_argument, "row range [" + std::to_string(b) + ", " + std::to_string(e) +
                                            ") does not lie in tensor '" + std::string(tensor) + "' of " +
                                            std::to_string(n) + " rows at version " +
                                            std::to_string(snap.version()));
  return {b, e};
}

row_mask make_mask(const snapshot& snap, const search_filter& f, uint64_t begin, uint64_t end) {
  if (f.tensor.empty()) return {};
  const tensor_spec& s = snap.spec(f.tensor);
  const bool scalar = s.shape && (s.shape->empty() || (s.shape->size() == 1 && (*s.shape)[0] == 1));
  if (!is_integer(s.type) || !scalar)
    throw error(errc::schema_mismatch, "filter tensor '" + s.name + "' must hold integer scalars, it holds " +
                                           to_string(s.type) + " with " + shape_text(s));
  std::vector<int64_t> values = f.values;
  std::sort(values.begin(), values.end());
  std::vector<uint8_t> pass(end - begin, 0);
  const uint64_t stop = std::min(end, snap.length(f.tensor));
  if (stop > begin)
    snap.scan(f.tensor, begin, stop, [&](const sample_span& sp) {
      const char* p = static_cast<const char*>(sp.data);
      for (uint64_t i = 0; i < sp.count; ++i, p += sp.sample_bytes) {
        auto v = value_of(s.type, p);
        pass[sp.first + i - begin] = v && std::binary_search(values.begin(), values.end(), *v);
      }
    });
  return row_mask(begin, std::move(pass));
}

}  // namespace serialake::search_detail
