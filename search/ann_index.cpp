// The ANN index: hnswlib's HNSW graph, chosen over FAISS after measuring both
// (docs/benchmarks.md): it takes rows one at a time with no training, so it can
// follow a growing dataset commit by commit, and it reached recall@10 >= 0.99
// on clustered data where FAISS IVF-Flat needed a trained quantizer whose
// centroids would go stale as rows arrive.
//
// Files, under the dataset directory:
//
//   indexes/<tensor>.json   the index's commit point, replaced atomically
//                           (temp file, fsync, rename, fsync dir):
//     {"format": "serialake-hnsw", "format_version": 1, "tensor": "emb",
//      "dim": 384, "metric": "cos", "m": 16, "ef_construction": 200,
//      "ef_search": 64, "rows": 100000, "version": 7,
//      "graph": "emb-7-100000.hnsw"}
//     rows: the graph holds rows [0, rows) of the tensor, read at commit `version`.
//   indexes/<graph>         hnswlib 0.6's saveIndex bytes: the graph and the
//                           vectors (normalized for cos), each labelled with its
//                           row index. Written and fsynced before the json names
//                           it; the graph the json named before is removed after.
//
// The index is derived data: deleting indexes/ loses nothing, create_index
// rebuilds it from the rows. Tensor names never start with '.', hold no '/',
// and live under chunks/, so these names cannot collide with the dataset's own.

#include "search/ann_index.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <hnswlib/hnswlib.h>
#include <nlohmann/json.hpp>

#include "core/file_io.hpp"
#include "search/exact.hpp"
#include "serialake/error.hpp"

namespace serialake::search_detail {
namespace {

std::string index_dir(const snapshot& snap) { return snap.path() + "/indexes"; }
std::string meta_path(const snapshot& snap, std::string_view tensor) {
  return index_dir(snap) + "/" + std::string(tensor) + ".json";
}

std::unique_ptr<hnswlib::SpaceInterface<float>> space_for(metric m, size_t dim) {
  if (m == metric::l2) return std::make_unique<hnswlib::L2Space>(dim);
  return std::make_unique<hnswlib::InnerProductSpace>(dim);
}

// hnswlib's distance as a key (higher is better): inner-product spaces give
// 1 - ip (for cos, of normalized vectors), L2 the squared distance.
float key_of(metric m, float dist) { return m == metric::l2 ? -dist : 1 - dist; }

// The file's text, or "" if it does not exist.
std::string text_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void check_options(const index_options& o) {
  if (o.m < 2 || o.m > 256 || o.ef_construction == 0 || o.ef_search == 0 || o.threads == 0 || o.threads > 64)
    throw error(errc::invalid_argument, "index options out of range: m must be 2 to 256, ef_construction and "
                                        "ef_search at least 1, threads 1 to 64");
}

struct loaded {
  std::string meta_text;  // the json it was loaded from (another process may rewrite it)
  std::shared_ptr<ann_index> idx;
};
std::mutex registry_mtx;
std::map<std::string, loaded> registry;  // by meta_path

void remember(const snapshot& snap, std::string_view tensor, std::shared_ptr<ann_index> idx) {
  const std::string path = meta_path(snap, tensor);
  std::string text = text_of(path);
  std::lock_guard<std::mutex> g(registry_mtx);
  registry[path] = loaded{std::move(text), std::move(idx)};
}

}  // namespace

ann_index::ann_index(size_t dim, const index_options& o)
  : dim_(dim), opts_(o), info_{o.metric, 0, 0}, space_(space_for(o.metric, dim)),
    graph_(std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), 1024, o.m, o.ef_construction)) {
  graph_->setEf(o.ef_search);
}

ann_index::ann_index(size_t dim, const index_options& o, const index_info& info, const std::string& graph_file)
  : dim_(dim), opts_(o), info_(info), space_(space_for(o.metric, dim)) {
  try {
    graph_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), graph_file, false, 0);
  } catch (const std::exception& e) {
    throw error(errc::corrupt, "ANN index graph " + graph_file + " cannot be loaded (" + e.what() +
                                   "); create_index rebuilds it");
  }
  if (graph_->cur_element_count != info.rows)
    throw error(errc::corrupt, "ANN index graph " + graph_file + " holds " +
                                   std::to_string(graph_->cur_element_count) + " rows, its json says " +
                                   std::to_string(info.rows) + "; create_index rebuilds it");
  graph_->setEf(o.ef_search);
}

ann_index::~ann_index() = default;

index_info ann_index::info() const {
  std::shared_lock<std::shared_mutex> l(mtx_);
  return info_;
}

std::vector<top_k> ann_index::search(const snapshot& snap, std::string_view tensor, const prepared& p,
                                     const search_options& o) const {
  const uint64_t len = snap.length(tensor);
  std::vector<top_k> heaps(p.n, top_k(o.k));
  uint64_t covered = 0;
  {
    std::shared_lock<std::shared_mutex> l(mtx_);
    // Rows past the snapshot's length (newer commits), and rows being added
    // now (past info_.rows), are not this search's.
    covered = std::min(len, info_.rows);
    const size_t graph_rows = graph_->cur_element_count;
    for (size_t i = 0; i < p.n && covered; ++i) {
      const size_t want = std::min<uint64_t>(o.k, covered);
      // hnswlib 0.6 has no filter: ask for more until enough rows pass.
      for (size_t asked = o.k;; asked *= 2) {
        auto r = graph_->searchKnn(p.q.data() + i * p.d, asked);
        const size_t returned = r.size();
        top_k h(o.k);
        size_t kept = 0;
        for (; !r.empty(); r.pop())
          if (r.top().second < covered) {
            h.offer(key_of(opts_.metric, r.top().first), r.top().second);
            ++kept;
          }
        if (kept >= want || returned < asked || asked >= graph_rows) {
          heaps[i] = std::move(h);
          break;
        }
      }
    }
  }
  if (covered < len) {
    auto tail = exact_top_k(snap, tensor, p, o, covered, len, row_mask{});
    for (size_t i = 0; i < p.n; ++i) heaps[i].merge(tail[i]);
  }
  return heaps;
}

index_info ann_index::add_and_save(const snapshot& snap, std::string_view tensor) {
  const uint64_t n = snap.length(tensor);
  const index_info old = info();
  if (n <= old.rows && old.version) return old;
  {
    std::unique_lock<std::shared_mutex> l(mtx_);
    if (graph_->max_elements_ < n) graph_->resizeIndex(std::max<size_t>(n, graph_->max_elements_ * 2));
  }
  {
    // Adds run beside searches (hnswlib locks per node); searches ignore
    // labels >= info_.rows until the new rows are all in.
    std::shared_lock<std::shared_mutex> l(mtx_);
    if (n > old.rows)
      snap.scan(tensor, old.rows, n, [&](const sample_span& s) {
        auto add = [&](uint64_t from, uint64_t to) {
          std::vector<float> x(dim_);
          for (uint64_t i = from; i < to; ++i) {
            std::memcpy(x.data(), static_cast<const char*>(s.data) + i * s.sample_bytes, dim_ * sizeof(float));
            if (opts_.metric == metric::cos) {
              float n2 = 0;
              for (float f : x) n2 += f * f;
              if (n2 > 0)
                for (float& f : x) f /= std::sqrt(n2);
            }
            graph_->addPoint(x.data(), s.first + i);
          }
        };
        const uint64_t t = std::min<uint64_t>(opts_.threads, s.count);
        std::vector<std::thread> th;
        for (uint64_t w = 1; w < t; ++w) th.emplace_back(add, s.count * w / t, s.count * (w + 1) / t);
        add(0, s.count / t);
        for (auto& x : th) x.join();
      });
  }
  index_info next{opts_.metric, std::max(n, old.rows), snap.version()};
  const std::string dir = index_dir(snap), name = std::string(tensor);
  const std::string graph = name + "-" + std::to_string(next.version) + "-" + std::to_string(next.rows) + ".hnsw";
  std::string old_graph;
  if (auto t = text_of(meta_path(snap, tensor)); !t.empty()) {
    auto j = nlohmann::json::parse(t, nullptr, false);
    if (j.is_object() && j.contains("graph") && j["graph"].is_string()) old_graph = j["graph"];
  }
  io::make_dirs(dir);
  {
    std::shared_lock<std::shared_mutex> l(mtx_);
    graph_->saveIndex(dir + "/" + graph + ".tmp");
  }
  io::file::open(dir + "/" + graph + ".tmp", O_RDONLY).sync();
  io::rename(dir + "/" + graph + ".tmp", dir + "/" + graph);
  nlohmann::json j{{"format", "serialake-hnsw"}, {"format_version", 1}, {"tensor", name},
                   {"dim", dim_}, {"metric", to_string(opts_.metric)}, {"m", opts_.m},
                   {"ef_construction", opts_.ef_construction}, {"ef_search", opts_.ef_search},
                   {"rows", next.rows}, {"version", next.version}, {"graph", graph}};
  io::write_file_atomic(meta_path(snap, tensor), j.dump() + "\n");
  if (!old_graph.empty() && old_graph != graph) std::remove((dir + "/" + old_graph).c_str());
  std::unique_lock<std::shared_mutex> l(mtx_);
  info_ = next;
  return next;
}

std::shared_ptr<ann_index> load_index(const snapshot& snap, std::string_view tensor) {
  const std::string path = meta_path(snap, tensor);
  std::string text = text_of(path);
  if (text.empty()) return nullptr;
  std::lock_guard<std::mutex> g(registry_mtx);
  if (auto it = registry.find(path); it != registry.end() && it->second.meta_text == text) return it->second.idx;
  const size_t dim = embedding_dim(snap, tensor);
  index_options o;
  index_info info;
  std::string graph;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("format") != "serialake-hnsw" || j.at("format_version") != 1 || j.at("dim") != dim)
      throw std::runtime_error("not a format 1 index of this tensor's dimension");
    o.metric = parse_metric(j.at("metric").get<std::string>());
    o.m = j.at("m");
    o.ef_construction = j.at("ef_construction");
    o.ef_search = j.at("ef_search");
    info = {o.metric, j.at("rows"), j.at("version")};
    graph = j.at("graph");
    if (graph.find('/') != std::string::npos) throw std::runtime_error("graph is not a file name");
  } catch (const std::exception& e) {
    throw error(errc::corrupt, "ANN index " + path + " is damaged (" + e.what() + "); create_index rebuilds it");
  }
  auto idx = std::make_shared<ann_index>(dim, o, info, index_dir(snap) + "/" + graph);
  registry[path] = loaded{std::move(text), idx};
  return idx;
}

}  // namespace serialake::search_detail

namespace serialake {

index_info create_index(const snapshot& snap, std::string_view tensor, const index_options& o) {
  using namespace search_detail;
  const size_t dim = embedding_dim(snap, tensor);
  check_options(o);
  auto idx = std::make_shared<ann_index>(dim, o);
  index_info info;
  {
    std::lock_guard<std::mutex> g(idx->update_mutex());
    info = idx->add_and_save(snap, tensor);
  }
  remember(snap, tensor, std::move(idx));
  return info;
}

index_info update_index(const snapshot& snap, std::string_view tensor) {
  using namespace search_detail;
  embedding_dim(snap, tensor);
  auto idx = load_index(snap, tensor);
  if (!idx)
    throw error(errc::not_found, "tensor '" + std::string(tensor) + "' has no ANN index (create_index builds one)");
  index_info info;
  {
    std::lock_guard<std::mutex> g(idx->update_mutex());
    info = idx->add_and_save(snap, tensor);
  }
  remember(snap, tensor, std::move(idx));
  return info;
}

std::optional<index_info> find_index(const snapshot& snap, std::string_view tensor) {
  auto idx = search_detail::load_index(snap, tensor);
  if (!idx) return std::nullopt;
  return idx->info();
}

}  // namespace serialake
