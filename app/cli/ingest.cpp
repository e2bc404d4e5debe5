#include "app/cli/ingest.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/dataset.hpp"
#include "app/cli/commands.hpp"
#include "core/file_io.hpp"

namespace serialake::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

struct work_item {
  std::string file;  ///< path to read
  std::string rel;   ///< path relative to SRC_DIR, stored in the dataset
  std::string cls;   ///< class (top-level folder) name
};

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// Class folders and their files, both sorted so a run is reproducible.
std::vector<work_item> scan_tree(const std::string& src, std::vector<std::string>& classes) {
  std::error_code ec;
  if (!fs::is_directory(src, ec)) throw error(errc::not_found, "no such directory: " + src);
  for (auto& e : fs::directory_iterator(src))
    if (!hidden(e.path()) && e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (classes.empty())
    throw error(errc::invalid_argument,
                src + " has no class subfolders (expected SRC_DIR/<class>/<file> ...)");
  std::vector<work_item> items;
  for (auto& cls : classes) {
    std::vector<work_item> mine;
    auto it = fs::recursive_directory_iterator(fs::path(src) / cls,
                                               fs::directory_options::skip_permission_denied);
    for (auto end = fs::recursive_directory_iterator(); it != end; ++it) {
      if (hidden(it->path())) {  // .DS_Store, .git, editor droppings
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      mine.push_back({it->path().string(), fs::relative(it->path(), src).generic_string(), cls});
    }
    std::sort(mine.begin(), mine.end(), [](auto& a, auto& b) { return a.rel < b.rel; });
    items.insert(items.end(), mine.begin(), mine.end());
  }
  return items;
}

std::vector<work_item> scan(const std::string& src, std::vector<std::string>& classes) {
  try {
    return scan_tree(src, classes);
  } catch (const fs::filesystem_error& e) {
    // Never the bare OS text: say which folder could not be listed.
    throw error(errc::io, "cannot list " + e.path1().string() + ": " + e.code().message());
  }
}

// Checks every tensor ingest writes before creating any, so that a dataset
// holding something else is refused unchanged; then creates the missing ones.
void ensure_tensors(dataset& ds) {
  static const tensor_spec wanted[] = {{"file", dtype::bytes, "image", {}},
                                       {"label", dtype::int64, "class_label", {}},
                                       {"path", dtype::text, "text", {}},
                                       {"class_names", dtype::text, "class_names", {}}};
  const auto have = ds.tensors();
  std::vector<const tensor_spec*> missing;
  for (auto& w : wanted) {
    auto it = std::find_if(have.begin(), have.end(), [&](auto& t) { return t.name == w.name; });
    if (it == have.end()) {
      missing.push_back(&w);
    } else if (it->type != w.type || it->shape) {
      throw error(errc::schema_mismatch, "tensor '" + w.name + "' of " + ds.path() + " is " +
                                             to_string(it->type) + (it->shape ? " with a fixed shape" : "") +
                                             "; ingest needs " + to_string(w.type) + " (nothing was changed)");
    }
  }
  for (auto* w : missing) ds.create_tensor(*w);
}

// Labels by class name: the dataset's existing classes keep theirs, new names are
// appended to class_names.
std::map<std::string, int64_t> ensure_classes(dataset& ds, const std::vector<std::string>& classes) {
  std::map<std::string, int64_t> label;
  auto snap = ds.snapshot();
  for (uint64_t i = 0; i < snap->length("class_names"); ++i)
    label.emplace(snap->read("class_names", i).data, static_cast<int64_t>(i));
  std::vector<sample> fresh;
  for (auto& c : classes) {
    if (label.count(c)) continue;
    label.emplace(c, static_cast<int64_t>(label.size()));
    fresh.push_back(sample::of_text(c));
  }
  if (!fresh.empty()) ds.append_batch("class_names", std::move(fresh)).get();
  return label;
}

// Shared by the reader threads.
struct progress {
  std::atomic<size_t> next{0};       // next work item to take
  std::atomic<uint64_t> queued{0};   // files read and queued
  std::atomic<uint64_t> ok_files{0};
  std::atomic<uint64_t> ok_bytes{0};
  std::atomic<uint64_t> read_bytes{0};
  std::mutex mtx;
  std::condition_variable cv;
  unsigned running = 0;
  std::vector<std::string> failures;  // "<rel>: <message>"
  std::optional<errc> first_code;

  void fail(const std::string& rel, const error& e) {
    std::lock_guard<std::mutex> g(mtx);
    failures.push_back(rel + ": " + e.message());
    if (!first_code) first_code = e.code();
  }
};

void reader(dataset ds, const std::vector<work_item>& items,
            const std::map<std::string, int64_t>& label, progress& p) {
  // Futures are settled as they complete, oldest first, so errors are seen
  // without a round trip per file.
  struct pending_row {
    append_future f;
    size_t item;
    uint64_t bytes;
  };
  std::deque<pending_row> pending;
  auto settle = [&](bool all) {
    while (!pending.empty() && (all || pending.front().f.ready())) {
      auto& pr = pending.front();
      try {
        pr.f.get();
        p.ok_files.fetch_add(1, std::memory_order_relaxed);
        p.ok_bytes.fetch_add(pr.bytes, std::memory_order_relaxed);
      } catch (const error& e) {
        p.fail(items[pr.item].rel, e);
      }
      pending.pop_front();
    }
  };
  for (size_t i; (i = p.next.fetch_add(1)) < items.size();) {
    const work_item& w = items[i];
    try {
      std::string bytes = io::read_file(w.file);
      const uint64_t n = bytes.size();
      row r;
      r.emplace_back("file", sample::of_bytes(std::move(bytes)));
      r.emplace_back("label", sample::scalar<int64_t>(dtype::int64, label.at(w.cls)));
      r.emplace_back("path", sample::of_text(w.rel));
      pending.push_back({ds.append_row(std::move(r)), i, n});
      p.queued.fetch_add(1, std::memory_order_relaxed);
      p.read_bytes.fetch_add(n, std::memory_order_relaxed);
    } catch (const error& e) {
      p.fail(w.rel, e);
    }
    settle(false);
  }
  settle(true);
  std::lock_guard<std::mutex> g(p.mtx);
  --p.running;
  p.cv.notify_all();
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void draw(const progress& p, size_t total, clock_type::time_point t0) {
  const uint64_t done = p.queued.load();
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  const int width = 30;
  const int fill = total ? static_cast<int>(width * done / total) : width;
  std::string bar(static_cast<size_t>(fill), '#');
  bar.append(static_cast<size_t>(width - fill), '.');
  std::fprintf(stderr, "\r[%s] %llu/%zu files  %.1f MiB  %.1f MiB/s\033[K", bar.c_str(),
               static_cast<unsigned long long>(done), total, mib(p.read_bytes.load()),
               secs > 0 ? mib(p.read_bytes.load()) / secs : 0.0);
  std::fflush(stderr);
}

}  // namespace

int run_ingest(const ingest_args& a) {
  if (a.threads < 1 || a.threads > 256) throw usage_error("--threads must be between 1 and 256");
  std::vector<std::string> classes;
  auto items = scan(a.src, classes);
  spdlog::debug("{} files in {} classes under {}", items.size(), classes.size(), a.src);

  engine eng;
  dataset_options o;
  o.create = true;
  o.lock_timeout = lock_timeout_ms(a.lock_timeout);
  dataset ds = eng.open(a.path, o);
  ensure_tensors(ds);
  auto label = ensure_classes(ds, classes);

  const auto t0 = clock_type::now();
  progress p;
  p.running = a.threads;
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < a.threads; ++i)
    threads.emplace_back(reader, ds, std::cref(items), std::cref(label), std::ref(p));
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  {
    std::unique_lock<std::mutex> g(p.mtx);
    while (p.running > 0) {
      p.cv.wait_for(g, std::chrono::milliseconds(100));
      if (tty) draw(p, items.size(), t0);
    }
  }
  for (auto& t : threads) t.join();
  if (tty) std::fprintf(stderr, "\n");
  ds.flush();
  ds.close();
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();

  const uint64_t files = p.ok_files.load(), bytes = p.ok_bytes.load();
  std::printf("ingested %llu files (%.1f MiB) in %.2f s: %.0f samples/s, %.1f MiB/s\n",
              static_cast<unsigned long long>(files), mib(bytes), secs,
              secs > 0 ? files / secs : 0.0, secs > 0 ? mib(bytes) / secs : 0.0);
  if (!p.failures.empty()) {
    std::fflush(stdout);
    const size_t shown = std::min<size_t>(p.failures.size(), 10);
    for (size_t i = 0; i < shown; ++i) std::fprintf(stderr, "serialake: %s\n", p.failures[i].c_str());
    if (shown < p.failures.size())
      std::fprintf(stderr, "serialake: ... and %zu more\n", p.failures.size() - shown);
    throw error(*p.first_code, std::to_string(p.failures.size()) + " of " +
                                   std::to_string(items.size()) + " files were not ingested");
  }
  return 0;
}

}  // namespace serialake::cli
