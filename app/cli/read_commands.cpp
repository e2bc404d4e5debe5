// The read-only commands: cat, verify, export, log. They open the dataset with
// open_read, so they never take the lock and work while another process writes.
// Given a serialake:// URI, cat and verify read through the server
// (remote_commands.cpp), log through the dataset handle.

#include <cerrno>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "app/cli/commands.hpp"
#include "app/cli/json_codec.hpp"
#include "app/cli/npy.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/snapshot_data.hpp"
#include "core/store.hpp"

namespace serialake::cli {
namespace {

std::string tensor_names(const snapshot& snap) {
  std::string out;
  for (auto& t : snap.tensors()) out += (out.empty() ? "" : ", ") + t.name;
  return out.empty() ? "none" : out;
}

// An unknown tensor on the command line is a usage error, not a missing dataset.
void need_tensor(const snapshot& snap, const std::string& name, const std::string& path) {
  if (!snap.has_tensor(name))
    throw usage_error("no tensor '" + name + "' in " + path + " (tensors: " + tensor_names(snap) + ")");
}

void write_out(const std::string& buf) {
  if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size())
    throw_io("cannot write to standard output", errno);
}

}  // namespace

void row_printer::print(uint64_t index, const std::vector<std::pair<const tensor_spec*, sample>>& fields) {
  try {
    write_row(fields, buf_);
  } catch (const error& e) {
    throw error(e.code(), "row " + std::to_string(index) + ": " + e.message());
  }
  buf_ += '\n';
  if (buf_.size() >= (1u << 20)) flush_out();
}

void row_printer::flush_out() {
  write_out(buf_);
  buf_.clear();
  if (std::fflush(stdout) != 0) throw_io("cannot write to standard output", errno);
}

int run_cat(const cat_args& a) {
  if (is_remote_uri(a.path)) return run_remote_cat(a);
  auto st = open_read(a.path, a.version);
  auto snap = st->snapshot();
  std::vector<const tensor_view*> sel;
  if (a.tensors.empty()) {
    for (auto& t : snap->data().tensors) sel.push_back(&t);
  } else {
    for (auto& name : a.tensors) {
      need_tensor(*snap, name, a.path);
      sel.push_back(&snap->data().tensor(name));
    }
  }
  // Tensors may differ in length (samples appended to one tensor alone); row i
  // holds the tensors that have a sample i.
  uint64_t rows = 0;
  for (auto* t : sel) rows = std::max(rows, t->length);
  if (a.end && a.start > *a.end) throw usage_error("--start is past --end");
  const uint64_t end = std::min(a.end.value_or(rows), rows);
  spdlog::debug("cat {} rows [{}, {}) of version {}", a.path, a.start, end, snap->version());

  row_printer out;
  std::vector<std::pair<const tensor_spec*, sample>> fields;
  try {
    for (uint64_t i = a.start; i < end; ++i) {
      fields.clear();
      for (auto* t : sel)
        if (i < t->length) fields.emplace_back(&t->spec, snap->read(t->spec.name, i));
      out.print(i, fields);
    }
  } catch (...) {
    // The rows before a bad one are good output: write them, then fail.
    out.flush_out();
    throw;
  }
  out.flush_out();
  report_damage(*st);
  return 0;
}

int run_verify(const verify_args& a) {
  if (is_remote_uri(a.path)) return run_remote_verify(a);
  auto st = open_read(a.path, a.version);
  auto snap = st->snapshot();
  auto problems = snap->verify();
  if (auto d = st->damage()) problems.push_back(problem{"", 0, a.path + "/commits.log", *d});
  if (auto v = st->dropped_commit())
    std::printf("note: commit %llu was never completed (its writer stopped during that commit); "
                "the dataset ends at version %llu\n",
                static_cast<unsigned long long>(*v), static_cast<unsigned long long>(snap->version()));
  uint64_t samples = 0;
  for (auto& t : snap->tensors()) samples += snap->length(t.name);
  report_verify(problems, a.path, snap->version(), samples, snap->tensors().size());
  return 0;
}

void report_verify(const std::vector<problem>& problems, const std::string& path, uint64_t version,
                   uint64_t samples, size_t tensors) {
  for (auto& p : problems) {
    if (p.tensor.empty())
      std::printf("file %s: %s\n", p.file.c_str(), p.message.c_str());
    else
      std::printf("tensor %s index %llu file %s: %s\n", p.tensor.c_str(),
                  static_cast<unsigned long long>(p.index), p.file.c_str(), p.message.c_str());
  }
  if (!problems.empty()) {
    std::fflush(stdout);
    throw error(errc::corrupt, std::to_string(problems.size()) + " problem" +
                                   (problems.size() == 1 ? "" : "s") + " found in " + path +
                                   " (version " + std::to_string(version) + ")");
  }
  std::printf("ok: %llu samples in %zu tensors checked (version %llu)\n",
              static_cast<unsigned long long>(samples), tensors, static_cast<unsigned long long>(version));
}

int run_export(const export_args& a) {
  auto st = open_read(a.path, a.version);
  auto snap = st->snapshot();
  need_tensor(*snap, a.tensor, a.path);
  uint64_t n = export_npy(*snap, a.tensor, a.npy);
  // On stderr: --npy may be /dev/stdout, and the report is not data.
  std::fprintf(stderr, "exported %llu samples of '%s' to %s\n", static_cast<unsigned long long>(n),
              a.tensor.c_str(), a.npy.c_str());
  report_damage(*st);
  return 0;
}

void print_log(const std::vector<commit_info>& all, bool unnamed_too) {
  // Each line gives the samples the version holds and those its commit added: a
  // named commit usually adds none (it names what earlier commits wrote), and
  // "0 samples" alone would read as an empty version.
  uint64_t total = 0;
  for (auto& c : all) {
    total += c.samples;
    if (!unnamed_too && c.message.empty()) continue;
    const std::string added = c.samples ? std::to_string(c.samples) + " new" : "none new";
    std::printf("%-6s %s  %10llu sample%s, %-10s  %s\n", ("v" + std::to_string(c.version)).c_str(),
                iso_time(c.time_ms).c_str(), static_cast<unsigned long long>(total),
                total == 1 ? "" : "s", added.c_str(),
                c.message.empty() ? "(unnamed)" : escaped(c.message).c_str());
  }
}

int run_log(const log_args& a) {
  if (is_remote_uri(a.path)) {
    engine eng;
    dataset_options o = writer_options(a.path, 0, {}, a.remote);
    o.read_only = true;
    print_log(eng.open(a.path, o).log(true), a.all);
    return 0;
  }
  auto st = open_read(a.path, std::nullopt);
  print_log(st->log(true), a.all);
  report_damage(*st);
  return 0;
}

}  // namespace serialake::cli
