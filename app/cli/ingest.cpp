#include "app/cli/ingest.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "serialake/dataset.hpp"
#include "serialake/remote.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/ingest_scan.hpp"
#include "app/cli/reorder_window.hpp"
#include "core/file_io.hpp"
#include "core/store.hpp"

namespace serialake::cli {
namespace {

using clock_type = std::chrono::steady_clock;

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
                                             "; ingest needs " + to_string(w.type) +
                                             " (nothing was changed)");
    }
  }
  for (auto* w : missing) ds.create_tensor(*w);
}

// A file as a reader thread left it for the appender.
struct loaded {
  std::string bytes;
  std::string error;  ///< why it could not be read ("" if it was)
};

// Reader threads: take the next file number, wait until it fits in the window,
// read the file and leave it there.
void read_files(const std::vector<const source_file*>& todo, std::atomic<size_t>& next,
                reorder_window<loaded>& window) {
  for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
    if (!window.wait_turn(i)) return;
    loaded l;
    try {
      l.bytes = io::read_file(todo[i]->file);
    } catch (const error& e) {
      l.error = e.message();
    } catch (const std::bad_alloc&) {
      l.error = "too large to read into memory";
    }
    window.put(i, std::move(l));
  }
}

// What the appender did.
struct outcome {
  std::vector<uint64_t> row_bytes;     // file size of each row appended, in row order
  std::vector<skipped_entry> unread;   // files that could not be read
  std::optional<error> stop;           // the dataset failed: the run stopped early
};

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void draw(size_t done, size_t total, uint64_t bytes, double secs) {
  const int width = 30;
  const int fill = total ? static_cast<int>(width * done / total) : width;
  std::string bar(static_cast<size_t>(fill), '#');
  bar.append(static_cast<size_t>(width - fill), '.');
  std::fprintf(stderr, "\r[%s] %zu/%zu files  %.1f MiB  %.1f MiB/s\033[K", bar.c_str(), done, total,
               mib(bytes), secs > 0 ? mib(bytes) / secs : 0.0);
  std::fflush(stderr);
}

// Reads `todo` with `threads` reader threads and appends one row per file from
// this thread in `todo` order, so the rows are in that order whatever the thread
// count. A class gets its label (and its class_names sample) with its first row.
outcome append_in_order(dataset& ds, const std::vector<const source_file*>& todo, unsigned threads,
                        std::map<std::string, int64_t>& label, clock_type::time_point t0) {
  outcome out;
  // A few files per reader keep every reader busy while one slow file holds
  // the head of the window; memory is bounded by the window, not the tree.
  reorder_window<loaded> window(4 * static_cast<size_t>(threads));
  std::atomic<size_t> next{0};
  std::vector<std::thread> readers;
  for (unsigned i = 0; i < threads; ++i)
    readers.emplace_back(read_files, std::cref(todo), std::ref(next), std::ref(window));

  // Futures are settled as they complete, oldest first, so a failing dataset is
  // noticed without a round trip per file.
  std::deque<append_future> pending;
  auto settle = [&](bool all) {
    for (; !pending.empty() && !out.stop && (all || pending.front().ready()); pending.pop_front()) {
      try {
        pending.front().get();
      } catch (const error& e) {
        out.stop = e;
      }
    }
  };
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto drawn = t0;
  uint64_t read_bytes = 0;
  try {
    for (size_t i = 0; i < todo.size() && !out.stop; ++i) {
      std::optional<loaded> l = window.take();  // only this thread closes the window
      const source_file& f = *todo[i];
      if (!l->error.empty()) {
        out.unread.push_back({f.rel, std::move(l->error)});
        continue;
      }
      auto cls = label.find(f.cls);
      if (cls == label.end()) {
        cls = label.emplace(f.cls, static_cast<int64_t>(label.size())).first;
        pending.push_back(ds.append("class_names", sample::of_text(f.cls)));
      }
      const uint64_t n = l->bytes.size();
      read_bytes += n;
      row r;
      r.emplace_back("file", sample::of_bytes(std::move(l->bytes)));
      r.emplace_back("label", sample::scalar<int64_t>(dtype::int64, cls->second));
      r.emplace_back("path", sample::of_text(f.rel));
      pending.push_back(ds.append_row(std::move(r)));
      out.row_bytes.push_back(n);
      settle(false);
      const auto now = clock_type::now();
      if (tty && now - drawn >= std::chrono::milliseconds(100)) {
        draw(i + 1, todo.size(), read_bytes, std::chrono::duration<double>(now - t0).count());
        drawn = now;
      }
    }
    settle(true);
  } catch (const error& e) {  // an append refused at once (dataset closed, queue timeout)
    out.stop = e;
  }
  window.close();
  for (auto& t : readers) t.join();
  if (tty) std::fprintf(stderr, "\n");
  return out;
}

// What the dataset's last commit holds that ingest needs: the classes'
// labels, how many rows it has, and (with --resume) their paths. Read from the
// handle's snapshot, or through the server for a serialake:// URI.
struct stored_state {
  std::map<std::string, int64_t> label;
  uint64_t rows = 0;
  std::unordered_set<std::string> paths;
};

// Rows (files) the last commit of `a.path` holds.
uint64_t stored_rows(const ingest_args& a) {
  if (!is_remote_uri(a.path)) return open_read(a.path, std::nullopt)->snapshot()->length("path");
  for (auto& t : remote_dataset(a.path, client_options(a.remote)).info().tensors)
    if (t.spec.name == "path") return t.length;
  return 0;
}

stored_state read_stored(dataset& ds, const ingest_args& a) {
  stored_state out;
  if (is_remote_uri(a.path)) {
    remote_dataset rd(a.path, client_options(a.remote));
    rd.read(0, std::nullopt, {"class_names"}, [&](uint64_t i, row& r) {
      out.label.emplace(std::move(r.at(0).second.data), static_cast<int64_t>(i));
    });
    out.rows = stored_rows(a);
    if (a.resume)
      rd.read(0, std::nullopt, {"path"}, [&](uint64_t, row& r) { out.paths.insert(std::move(r.at(0).second.data)); });
    return out;
  }
  auto snap = ds.snapshot();
  for (uint64_t i = 0; i < snap->length("class_names"); ++i)
    out.label.emplace(snap->read("class_names", i).data, static_cast<int64_t>(i));
  out.rows = snap->length("path");
  for (uint64_t i = 0; a.resume && i < out.rows; ++i) out.paths.insert(snap->read("path", i).data);
  return out;
}

// How many of this run's `appended` rows are committed, read back from the last
// commit after a failure (what a crash or a rerun sees); none if even that
// cannot be read. Rows are committed in row order, so those are a prefix.
std::optional<uint64_t> committed_since(const ingest_args& a, uint64_t rows_before, uint64_t appended) {
  try {
    const uint64_t rows = stored_rows(a);
    return std::min(rows - std::min(rows, rows_before), appended);
  } catch (const error& e) {
    spdlog::warn("cannot read back {}: {}", a.path, e.message());
    return std::nullopt;
  }
}

// Prints the summary on stdout and every entry not stored on stderr; throws
// the dataset's error if it stopped the run, invalid_argument (exit 65) if any
// entry was not stored.
void report(const source_tree& tree, const outcome& out, std::optional<uint64_t> committed, size_t already,
            size_t todo, double secs) {
  uint64_t bytes = 0;
  for (size_t i = 0; committed && i < *committed; ++i) bytes += out.row_bytes[i];
  std::vector<skipped_entry> not_stored = tree.skipped;
  not_stored.insert(not_stored.end(), out.unread.begin(), out.unread.end());
  std::sort(not_stored.begin(), not_stored.end(), [](auto& x, auto& y) { return x.rel < y.rel; });

  const uint64_t files = committed.value_or(0);
  std::printf("%s %llu files (%.1f MiB) in %.2f s: %.0f files/s, %.1f MiB/s",
              out.stop ? "stopped early: committed" : "ingested", static_cast<unsigned long long>(files),
              mib(bytes), secs, secs > 0 ? files / secs : 0.0, secs > 0 ? mib(bytes) / secs : 0.0);
  if (already) std::printf("; %zu already stored", already);
  if (!not_stored.empty()) std::printf("; %zu not ingested", not_stored.size());
  std::printf("\n");
  std::fflush(stdout);
  for (auto& s : not_stored)
    std::fprintf(stderr, "serialake: not ingested: %s: %s\n", s.rel.c_str(), s.why.c_str());

  if (out.stop)
    throw error(out.stop->code(), out.stop->message() + "; " +
                                      (committed ? std::to_string(*committed) : "an unknown number") + " of " +
                                      std::to_string(todo) +
                                      " files were committed, rerun with --resume to add the rest");
  if (!not_stored.empty())
    throw error(errc::invalid_argument, std::to_string(not_stored.size()) +
                                            (not_stored.size() == 1 ? " entry was" : " entries were") +
                                            " not ingested (listed above)");
}

}  // namespace

int run_ingest(const ingest_args& a) {
  if (a.threads < 1 || a.threads > 256) throw usage_error("--threads must be between 1 and 256");
  const source_tree tree = scan_source(a.src);
  spdlog::debug("{} files in {} class folders under {}, {} entries skipped", tree.files.size(),
                tree.class_folders, a.src, tree.skipped.size());

  engine eng;
  dataset_options o = writer_options(a.path, a.lock_timeout, a.lock_uri, a.remote);
  o.create = true;
  dataset ds = eng.open(a.path, o);
  ensure_tensors(ds);

  // Labels by class name: the dataset's classes keep theirs, so rows of every
  // run (resumed or not) index the same class_names.
  stored_state stored = read_stored(ds, a);
  std::map<std::string, int64_t>& label = stored.label;
  const uint64_t rows_before = stored.rows;
  std::vector<const source_file*> todo;
  for (auto& f : tree.files)
    if (!stored.paths.count(f.rel)) todo.push_back(&f);
  const size_t already = tree.files.size() - todo.size();

  const auto t0 = clock_type::now();
  outcome out = append_in_order(ds, todo, a.threads, label, t0);
  if (!out.stop) {
    try {
      ds.flush();
    } catch (const error& e) {
      out.stop = e;
    }
  }
  try {
    ds.close();
  } catch (const error& e) {
    if (!out.stop) out.stop = e;
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();

  const std::optional<uint64_t> committed =
      out.stop ? committed_since(a, rows_before, out.row_bytes.size()) : out.row_bytes.size();
  report(tree, out, committed, already, todo.size(), secs);
  return 0;
}

}  // namespace serialake::cli
