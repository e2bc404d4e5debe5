#pragma once
// The exact scan behind search (and behind the ANN index, for the rows
// committed after the index was last updated).

#include <string_view>
#include <vector>

#include "search/filter.hpp"
#include "search/top_k.hpp"

namespace serialake::search_detail {

/// Each query's best o.k rows among [begin, end) that `mask` allows, scanning
/// with o.threads threads. Throws corrupt (a stored sample fails its checksum).
std::vector<top_k> exact_top_k(const snapshot& snap, std::string_view tensor, const prepared& p,
                               const search_options& o, uint64_t begin, uint64_t end, const row_mask& mask);

}  // namespace serialake::search_detail
