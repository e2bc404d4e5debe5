// The public entry of search: checks the request, then asks the tensor's ANN
// index (ann_index.hpp) or scans (exact.hpp).

#include <string>

#include "search/ann_index.hpp"
#include "search/exact.hpp"
#include "serialake/error.hpp"
#include "serialake/search.hpp"

namespace serialake {
namespace {
constexpr unsigned max_threads = 64;
}  // namespace

const char* to_string(metric m) noexcept {
  switch (m) {
    case metric::cos: return "cos";
    case metric::l2: return "l2";
    case metric::ip: return "ip";
  }
  return "?";
}

metric parse_metric(std::string_view name) {
  if (name == "cos") return metric::cos;
  if (name == "l2") return metric::l2;
  if (name == "ip") return metric::ip;
  throw error(errc::invalid_argument, "unknown metric '" + std::string(name) + "' (use cos, l2 or ip)");
}

std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const query_batch& queries, const search_options& o) {
  using namespace search_detail;
  const size_t d = embedding_dim(snap, tensor);
  if (o.k == 0 || o.k > max_k)
    throw error(errc::invalid_argument, "k is " + std::to_string(o.k) + ": it must be 1 to " + std::to_string(max_k));
  if (o.threads == 0 || o.threads > max_threads)
    throw error(errc::invalid_argument, "threads is " + std::to_string(o.threads) + ": it must be 1 to " +
                                            std::to_string(max_threads));
  const prepared p = prepare(queries, d, o.metric, tensor);
  const auto [begin, end] = row_range(snap, tensor, o.filter);
  std::vector<top_k> heaps;
  const bool filtered = o.filter.rows || !o.filter.tensor.empty();
  if (auto ann = o.exact || filtered ? nullptr : load_index(snap, tensor); ann && ann->metric() == o.metric) {
    heaps = ann->search(snap, tensor, p, o);
  } else {
    heaps = exact_top_k(snap, tensor, p, o, begin, end, make_mask(snap, o.filter, begin, end));
  }
  std::vector<std::vector<hit>> out;
  out.reserve(heaps.size());
  for (auto& h : heaps) out.push_back(h.sorted(o.metric == metric::l2));
  return out;
}

std::vector<std::vector<hit>> search(const snapshot& snap, std::string_view tensor,
                                     const std::vector<std::vector<float>>& queries,
                                     const search_options& o) {
  const size_t d = search_detail::embedding_dim(snap, tensor);
  std::vector<float> flat;
  flat.reserve(queries.size() * d);
  for (size_t i = 0; i < queries.size(); ++i) {
    if (queries[i].size() != d)
      throw error(errc::invalid_argument, "query " + std::to_string(i) + " has dimension " +
                                              std::to_string(queries[i].size()) + ", tensor '" +
                                              std::string(tensor) + "' has " + std::to_string(d));
    flat.insert(flat.end(), queries[i].begin(), queries[i].end());
  }
  return search(snap, tensor, query_batch{flat.data(), queries.size(), d}, o);
}

}  // namespace serialake
