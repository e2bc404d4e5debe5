#pragma once
// Vector search from Python: Dataset.search / Snapshot.search and
// Dataset.create_index, over serialake/search.hpp. The search runs on the
// calling thread with the GIL released, so Python threads search in parallel
// (with each other and with appends); results are NumPy arrays.

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "serialake/search.hpp"
#include "serialake/snapshot.hpp"

namespace serialake::python {

namespace py = pybind11;

/// Top-k of `queries` (array-like float32 [q, d], or [d] for one query) over
/// tensor `tensor` of `snap`: a tuple (indices int64, scores float32), each
/// [q, k] (or [k] for one query), best first; fewer columns if no query got k
/// hits (fewer rows than k pass the filter), and where one query got fewer
/// than another, index -1 and score NaN fill its row, as in FAISS. `rows` keeps rows in [first, last); `where` = {tensor: values}
/// keeps rows whose integer tensor holds one of the values.
py::tuple search_snapshot(const std::shared_ptr<const snapshot>& snap, const std::string& tensor,
                          py::handle queries, size_t k, const std::string& metric, bool exact,
                          unsigned threads, std::optional<std::pair<uint64_t, uint64_t>> rows,
                          std::optional<py::dict> where);

/// What an index covers, as {"metric", "rows", "version"}.
py::dict index_dict(const index_info& info);

/// Builds (or rebuilds) tensor `tensor`'s ANN index from `snap` (index_dict).
py::dict create_index_py(const std::shared_ptr<const snapshot>& snap, const std::string& tensor,
                         const std::string& metric, size_t m, size_t ef_construction, size_t ef_search,
                         unsigned threads);

}  // namespace serialake::python
