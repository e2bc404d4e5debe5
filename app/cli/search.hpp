#pragma once
// `serialake search`: top-k of JSON query vectors read from stdin; `serialake
// index`: builds a tensor's ANN index.

#include <cstdint>
#include <optional>
#include <string>

#include "app/cli/commands.hpp"

namespace serialake::cli {

struct search_args {
  std::string path;        ///< a dataset directory, or serialake://host:port/NAME (the server searches)
  remote_args remote;
  std::string tensor;
  size_t k = 10;
  std::string metric = "cos";
  bool exact = false;      ///< scan every row even if the tensor has an ANN index
  unsigned threads = 1;
  std::optional<uint64_t> version;
};

/// Reads one JSON array of numbers per line, prints one line per query in
/// order: {"results": [{"index": i, "score": s}, ...]}, best first. A bad line
/// fails the command (exit 65) naming its line number, after the lines before
/// it were answered.
int run_search(const search_args& a);

struct index_args {
  std::string path;
  std::string tensor;
  std::string metric = "cos";
};
/// `serialake index`: builds (or rebuilds) the tensor's ANN index from the
/// last commit; prints {"rows": n, "version": v}.
int run_index(const index_args& a);

}  // namespace serialake::cli
