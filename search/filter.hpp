#pragma once
// The checks of a search request: the embedding tensor, the queries, and the
// rows a search_filter lets through.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "serialake/search.hpp"

namespace serialake::search_detail {

/// The queries as the kernels take them: for cos normalized (a stored vector's
/// norm is divided out per row), for l2 with their squared norms.
struct prepared {
  std::vector<float> q;
  std::vector<float> norm2;
  size_t n = 0;
  size_t d = 0;
};

/// Checks the queries (dimension d, finite, nonzero for cos) and prepares them;
/// throws invalid_argument naming the query and element.
prepared prepare(const query_batch& b, size_t d, metric m, std::string_view tensor);

/// d of a float32 tensor of fixed shape [d]; throws not_found or schema_mismatch.
size_t embedding_dim(const snapshot& snap, std::string_view tensor);

/// The rows of `tensor` a search covers: [0, length) narrowed by `f.rows`.
/// Throws invalid_argument for a range that is reversed or past the length.
std::pair<uint64_t, uint64_t> row_range(const snapshot& snap, std::string_view tensor,
                                        const search_filter& f);

/// Which rows of [begin, end) pass a value filter (all, if there is none).
class row_mask {
 public:
  row_mask() = default;
  row_mask(uint64_t begin, std::vector<uint8_t> pass) : begin_(begin), pass_(std::move(pass)), all_(false) {}
  /// REQUIRES: begin <= row < end.
  bool allows(uint64_t row) const noexcept { return all_ || pass_[row - begin_]; }

 private:
  uint64_t begin_ = 0;
  std::vector<uint8_t> pass_;
  bool all_ = true;
};

/// Reads `f.tensor` over [begin, end) and marks the rows whose value is one of
/// `f.values`. Throws not_found or schema_mismatch (not an integer scalar tensor).
row_mask make_mask(const snapshot& snap, const search_filter& f, uint64_t begin, uint64_t end);

}  // namespace serialake::search_detail
