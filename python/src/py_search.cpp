#include "py_search.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <vector>

#include "serialake/error.hpp"


namespace serialake::python {

namespace {

search_filter filter_of(std::optional<std::pair<uint64_t, uint64_t>> rows, std::optional<py::dict> where) {
  search_filter f;
  f.rows = rows;
  if (!where || where->empty()) return f;
  if (where->size() != 1) throw error(errc::invalid_argument, "where= takes one tensor: {tensor: [values]}");
  for (auto item : *where) {
    f.tensor = py::cast<std::string>(item.first);
    f.values = py::cast<std::vector<int64_t>>(item.second);
  }
  return f;
}

}  // namespace

py::tuple search_snapshot(const std::shared_ptr<const snapshot>& snap, const std::string& tensor,
                          py::handle queries, size_t k, const std::string& metric, bool exact,
                          unsigned threads, std::optional<std::pair<uint64_t, uint64_t>> rows,
                          std::optional<py::dict> where) {
  auto q = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(queries);
  if (!q || q.ndim() < 1 || q.ndim() > 2)
    throw error(errc::invalid_argument, "search of tensor '" + tensor +
                                            "': queries must be a float array of shape [q, d] or [d]");
  const bool one = q.ndim() == 1;
  const size_t count = one ? 1 : size_t(q.shape(0)), dim = size_t(q.shape(one ? 0 : 1));
  search_options o;
  o.k = k;
  o.metric = parse_metric(metric);
  o.exact = exact;
  o.threads = threads;
  o.filter = filter_of(rows, std::move(where));
  std::vector<std::vector<hit>> hits;
  {
    py::gil_scoped_release nogil;  // `q` is ours, unchanged meanwhile
    hits = search(*snap, tensor, query_batch{q.data(), count, dim}, o);
  }
  size_t width = 0;
  for (auto& h : hits) width = std::max(width, h.size());
  py::array_t<int64_t> idx({count, width});
  py::array_t<float> score({count, width});
  auto I = idx.mutable_unchecked<2>();
  auto S = score.mutable_unchecked<2>();
  for (size_t i = 0; i < count; ++i)
    for (size_t j = 0; j < width; ++j) {
      const bool have = j < hits[i].size();
      I(i, j) = have ? int64_t(hits[i][j].index) : -1;
      S(i, j) = have ? hits[i][j].score : std::numeric_limits<float>::quiet_NaN();
    }
  if (one) return py::make_tuple(idx[py::int_(0)], score[py::int_(0)]);
  return py::make_tuple(idx, score);
}

py::dict create_index_py(const std::shared_ptr<const snapshot>& snap, const std::string& tensor,
                         const std::string& metric, size_t m, size_t ef_construction, size_t ef_search,
                         unsigned threads) {
  index_options o;
  o.metric = parse_metric(metric);
  o.m = m;
  o.ef_construction = ef_construction;
  o.ef_search = ef_search;
  o.threads = threads;
  index_info info;
  {
    py::gil_scoped_release nogil;
    info = create_index(*snap, tensor, o);
  }
  return index_dict(info);
}

py::dict index_dict(const index_info& info) {
  return py::dict(py::arg("metric") = to_string(info.metric), py::arg("rows") = info.rows,
                  py::arg("version") = info.version);
}

}  // namespace serialake::python
