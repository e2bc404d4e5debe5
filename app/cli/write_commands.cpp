// The commands that open a dataset for writing (and so take its lock):
// create, append, commit. Given a serialake:// URI they do the same through
// the server (the dataset handle opens URIs too; the server holds the lock).

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <functional>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "serialake/dataset.hpp"
#include "app/cli/commands.hpp"
#include "app/cli/json_codec.hpp"
#include "core/format.hpp"
#include "core/file_io.hpp"
#include "core/store.hpp"

namespace serialake::cli {

namespace {

// The CLI does one thing at a time; a small scheduler is plenty (the dataset
// actor gets its own thread regardless).
engine_options small_engine() {
  engine_options o;
  o.threads = 2;
  return o;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

// append_rows names the failing row ("row K: ..."); the user knows lines.
error with_line(const error& e, const std::vector<uint64_t>& line_of) {
  const std::string& m = e.message();
  if (m.rfind("row ", 0) == 0) {
    size_t colon = m.find(": ");
    try {
      size_t k = std::stoull(m.substr(4, colon - 4));
      if (colon != std::string::npos && k < line_of.size())
        return error(e.code(), "line " + std::to_string(line_of[k]) + m.substr(colon));
    } catch (const std::exception&) {
      // Not "row <number>": keep the message as it is.
    }
  }
  return e;
}

}  // namespace

std::vector<tensor_spec> parse_tensor_args(const std::vector<std::string>& args) {
  std::vector<tensor_spec> specs;
  std::set<std::string> names;
  for (auto& t : args) {
    specs.push_back(parse_tensor_arg(t));
    if (!names.insert(specs.back().name).second)
      throw usage_error("tensor '" + specs.back().name + "' is given twice");
  }
  return specs;
}

uint64_t append_stdin(const std::vector<tensor_spec>& tensors, const std::string& path, bool allow_missing,
                      const std::function<void(std::vector<row>)>& append) {
  std::map<std::string, tensor_spec> specs;
  for (auto& t : tensors) specs.emplace(t.name, t);
  // All-or-nothing: every line is parsed and checked before anything is queued,
  // then all rows go in as one append.
  std::vector<row> rows;
  std::vector<uint64_t> line_of;
  std::string line;
  uint64_t lineno = 0;
  std::ios::sync_with_stdio(false);
  while (std::getline(std::cin, line)) {
    ++lineno;
    if (blank(line)) continue;
    rows.push_back(read_row(line, lineno, specs, path, allow_missing));
    line_of.push_back(lineno);
  }
  if (std::cin.bad()) throw_io("cannot read standard input", errno);
  const size_t n = rows.size();
  spdlog::debug("parsed {} rows from {} lines", n, lineno);
  if (n == 0) return 0;
  try {
    append(std::move(rows));
  } catch (const error& e) {
    throw with_line(e, line_of);
  }
  return n;
}

int run_create(const create_args& a) {
  // Every argument is checked before anything is created, so a typo never leaves
  // a half-made dataset behind.
  std::vector<tensor_spec> specs = parse_tensor_args(a.tensors);
  if (is_remote_uri(a.path))
    remote_dataset::create(a.path, specs, client_options(a.remote));  // atomic on the server too
  else
    store::initialize(a.path, specs);  // atomic: of concurrent creates, one wins
  std::printf("created %s with %zu tensor%s\n", a.path.c_str(), specs.size(),
              specs.size() == 1 ? "" : "s");
  return 0;
}

int run_append(const append_args& a) {
  engine eng(small_engine());
  dataset_options o = writer_options(a.path, a.lock_timeout, a.lock_uri, a.remote);
  // Remote: an append completes once the server acknowledged it, durable or
  // not, and flush() commits on the server: exit 0 means the rows are there.
  o.policy.mode = a.durable ? durability::durable : durability::buffered;
  // Opened (and locked) before stdin is read: the schema is needed to parse, and
  // a missing dataset or a held lock is reported before the input is consumed.
  dataset ds = eng.open(a.path, o);
  auto tensors = ds.tensors();
  spdlog::debug("opened {} for writing; {} tensors", ds.path(), tensors.size());
  const uint64_t n = append_stdin(tensors, a.path, a.allow_missing, [&](std::vector<row> rows) {
    ds.append_rows(std::move(rows)).get();
    commit_info ci = ds.flush();
    spdlog::debug("committed version {}", ci.version);
  });
  ds.close();
  std::printf("appended %llu row%s to %s\n", static_cast<unsigned long long>(n), n == 1 ? "" : "s",
              a.path.c_str());
  return 0;
}

int run_commit(const commit_args& a) {
  if (a.message.empty()) throw usage_error("the commit message must not be empty");
  engine eng(small_engine());
  dataset ds = eng.open(a.path, writer_options(a.path, a.lock_timeout, a.lock_uri, a.remote));
  commit_info ci = ds.commit(a.message);
  ds.close();
  std::printf("committed version %llu: %s\n", static_cast<unsigned long long>(ci.version),
              escaped(a.message).c_str());
  return 0;
}

}  // namespace serialake::cli
