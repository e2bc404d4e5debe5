#pragma once
// The k best (key, index) pairs seen so far. A key is "higher is better" (l2
// distances are negated); equal keys rank by lower index, so the result does
// not depend on the order rows were offered in (threads, blocks).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "serialake/search.hpp"

namespace serialake::search_detail {

/// One candidate: key (higher is better) and row index.
struct scored {
  float key = 0;
  uint64_t index = 0;
};

/// a ranks before b.
inline bool better(const scored& a, const scored& b) noexcept {
  return a.key > b.key || (a.key == b.key && a.index < b.index);
}

/// A bounded heap of the best k candidates; its front is the worst kept.
class top_k {
 public:
  explicit top_k(size_t k) : k_(k) { heap_.reserve(k); }

  /// Offers a candidate. NaN keys are dropped (they compare with nothing).
  void offer(float key, uint64_t index) {
    if (heap_.size() == k_) {
      // Fast path: most rows lose to the worst kept.
      if (!(key >= heap_.front().key)) return;
      if (!better({key, index}, heap_.front())) return;
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = {key, index};
    } else {
      if (key != key) return;
      heap_.push_back({key, index});
    }
    std::push_heap(heap_.begin(), heap_.end(), better);
  }

  /// Merges another heap's candidates into this one.
  void merge(const top_k& o) {
    for (const scored& s : o.heap_) offer(s.key, s.index);
  }

  /// The candidates, best first; `negate` turns keys back into l2 distances.
  std::vector<hit> sorted(bool negate) const {
    std::vector<scored> v = heap_;
    std::sort(v.begin(), v.end(), better);
    std::vector<hit> out;
    out.reserve(v.size());
    for (const scored& s : v) out.push_back({s.index, negate ? -s.key : s.key});
    return out;
  }

 private:
  size_t k_;
  std::vector<scored> heap_;
};

}  // namespace serialake::search_detail
