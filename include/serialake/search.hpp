#pragma once
// Vector search over one committed version: exact top-k of an embedding tensor
// (float32, fixed shape [d]) for a batch of queries.
//
//   auto snap = ds.snapshot();
//   serialake::search_options o;
//   o.k = 10;
//   o.metric = serialake::metric::cos;
//   auto hits = serialake::search(*snap, "embedding", queries, o);  // hits[q][0] is q's best
//
// Reads go through snapshot::scan, so every sample's checksum is checked and the
// dataset keeps appending meanwhile: a search sees exactly the rows of its
// snapshot's version. Safe from any number of threads at once.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serialake/snapshot.hpp"

namespace serialake {

/// How a query and a stored vector are compared.
enum class metric {
  cos,  ///< cosine similarity, higher is better (a zero stored vector scores 0)
  l2,   ///< squared Euclidean distance, lower is better
  ip,   ///< inner product, higher is better
};

/// "cos", "l2" or "ip".
const char* to_string(metric m) noexcept;
/// Parses "cos", "l2" or "ip"; throws invalid_argument naming the bad text.
metric parse_metric(std::string_view name);

/// Most results a query may ask for.
inline constexpr size_t max_k = 1000;

/// Which rows may be returned. Empty: all rows of the snapshot.
struct search_filter {
  /// Only rows in [first, second).
  std::optional<std::pair<uint64_t, uint64_t>> rows;
  /// Only rows whose sample of this integer tensor (shape [] or [1]; any int or
  /// uint dtype, e.g. a class_label) is one of `values`. Rows past that
  /// tensor's length are excluded. Empty: no value filter.
  std::string tensor;
  /// The accepted values of `tensor`.
  std::vector<int64_t> values;
};

/// What a search does.
struct search_options {
  size_t k = 10;                  ///< results per query, 1..max_k
  serialake::metric metric = metric::cos;
  search_filter filter;
  unsigned threads = 1;           ///< threads scanning disjoint row ranges (1..64)
  /// Scan every row even if the tensor has an ANN index. Without it, a search
  /// with no filter uses the tensor's index when its metric is this one.
  bool exact = false;
};

/// Settings of a tensor's ANN index: an HNSW graph (hnswlib).
struct index_options {
  serialake::metric metric = metric::cos;
  size_t m = 16;                  ///< links per node
  size_t ef_construction = 200;   ///< candidates kept while inserting
  size_t ef_search = 64;          ///< default candidates kept while searching (at least k)
  unsigned threads = 2;           ///< threads inserting rows
};

/// What a tensor's index covers.
struct index_info {
  serialake::metric metric = metric::cos;
  uint64_t rows = 0;     ///< rows [0, rows) are in the graph
  uint64_t version = 0;  ///< the commit those rows were read from
};

/// One result: a row index and its score (similarity for cos and ip, squared
/// distance for l2).
struct hit {
  uint64_t index = 0;
  float score = 0;
};

/// Queries as one row-major float32 matrix: `count` vectors of `dim` floats.
struct query_batch {
  const float* data = nullptr;
  size_t count = 0;
  size_t dim = 0;
};

/// Top-k of each query over tensor `tensor` of `snap`, best first; equal
/// scores are ordered by row index (lower first), so results are deterministic
/// for any thread count. Exact, unless the tensor has an ANN index of the same
/// metric and neither `exact` nor a filter is set: then the index answers for
/// the rows it holds (approximately) and a scan for the rows committed since;
/// either way only rows of `snap` come back. Rows whose score is NaN (a stored NaN) are never
/// returned; a query gets fewer than k hits only if fewer rows pass the filter.
/// Throws not_found (no such tensor, or filter tensor), schema_mismatch (not a
/// float32 tensor of fixed shape [d]; a filter tensor that is not an integer
/// scalar), invalid_argument (k is 0 or above max_k, a query's dimension is not
/// d, a query holds NaN or infinity, a zero query for cos, a row range past the
/// tensor, threads 0 or above 64) or corrupt (a stored sample fails its checksum).
std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const query_batch& queries, const search_options& opts = {});

/// The same for queries given as vectors (each must have d elements).
std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const std::vector<std::vector<float>>& queries,
                                     const search_options& opts = {});

/// Builds the ANN index of `tensor` from every row of `snap` (replacing one
/// that exists) and writes it under the dataset directory, in indexes/. Throws
/// like search (not an embedding: schema_mismatch), or io.
index_info create_index(const snapshot& snap, std::string_view tensor, const index_options& o = {});

/// Adds the rows of `snap` the index lacks and saves it. Throws not_found if
/// the tensor has no index. Calls for one tensor run one at a time.
index_info update_index(const snapshot& snap, std::string_view tensor);

/// The tensor's index, if it has one.
std::optional<index_info> find_index(const snapshot& snap, std::string_view tensor);

}  // namespace serialake
