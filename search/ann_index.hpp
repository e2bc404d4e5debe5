#pragma once
// A tensor's ANN index: an HNSW graph (hnswlib) over rows [0, rows) of an
// embedding tensor, persisted under the dataset directory (the file format is
// written down in ann_index.cpp). Loaded indexes are shared by every search of
// the process; see load_index.

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "search/filter.hpp"
#include "search/top_k.hpp"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace hnswlib

namespace serialake::search_detail {

/// One loaded index. Thread-safe: searches share it, updates take turns.
class ann_index {
 public:
  /// An empty index for vectors of `dim` floats.
  ann_index(size_t dim, const index_options& o);
  /// Loads `graph_file` (written by save) holding `info.rows` rows.
  ann_index(size_t dim, const index_options& o, const index_info& info, const std::string& graph_file);
  ~ann_index();

  serialake::metric metric() const noexcept { return opts_.metric; }
  index_info info() const;

  /// Each query's best o.k rows among those of `snap`: the graph's rows below
  /// the snapshot's length, then an exact scan of the rows committed after
  /// the graph's last update.
  std::vector<top_k> search(const snapshot& snap, std::string_view tensor, const prepared& p,
                            const search_options& o) const;

  /// Adds rows [info().rows, length) of `snap` and writes the index to
  /// `<dataset>/indexes/`. REQUIRES: one call at a time (update_mutex()).
  index_info add_and_save(const snapshot& snap, std::string_view tensor);

  /// Held by the caller of add_and_save.
  std::mutex& update_mutex() noexcept { return update_mtx_; }

 private:
  size_t dim_;
  index_options opts_;
  index_info info_;  // guarded by mtx_
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph_;
  mutable std::shared_mutex mtx_;  // searches shared; growing the graph exclusive
  std::mutex update_mtx_;
};

/// The index of `tensor` in the dataset of `snap`, loaded once per process (and
/// again when another process rewrote it), or null if it has none.
std::shared_ptr<ann_index> load_index(const snapshot& snap, std::string_view tensor);

}  // namespace serialake::search_detail
