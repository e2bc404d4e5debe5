// `serialake search`: reads queries in batches of up to 64 lines (a batch is
// scored in one pass over the data) and answers each line in order.

#include "app/cli/search.hpp"

#include <cerrno>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli/commands.hpp"
#include "core/store.hpp"
#include "serialake/remote.hpp"
#include "serialake/search.hpp"

namespace serialake::cli {
namespace {

constexpr size_t batch_lines = 64;

// Parses line `lineno` as a JSON array of numbers into `out`.
void parse_query(const std::string& line, uint64_t lineno, std::vector<float>& out) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    throw error(errc::invalid_argument, "line " + std::to_string(lineno) + ": not a JSON array of numbers");
  out.clear();
  for (const auto& x : j) {
    if (!x.is_number())
      throw error(errc::invalid_argument, "line " + std::to_string(lineno) + ": element " +
                                              std::to_string(out.size()) + " is not a number");
    out.push_back(x.get<float>());
  }
}

// Prints the hits of each query, one line each.
void print(const std::vector<std::vector<hit>>& hits) {
  std::string out;
  char num[64];
  for (const auto& h : hits) {
    out += "{\"results\": [";
    for (size_t i = 0; i < h.size(); ++i) {
      std::snprintf(num, sizeof num, "%s{\"index\": %llu, \"score\": %.9g}", i ? ", " : "",
                    static_cast<unsigned long long>(h[i].index), static_cast<double>(h[i].score));
      out += num;
    }
    out += "]}\n";
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size())
    throw_io("cannot write to standard output", errno);
  std::fflush(stdout);
}

// Searches a batch of queries: on a snapshot here, or on a server.
using searcher = std::function<std::vector<std::vector<hit>>(const std::vector<std::vector<float>>&)>;

// Answers the batch; `lines` holds each query's line number. If the batch is
// refused, the queries are answered one by one up to the bad one, whose error
// then names its line.
void answer(const searcher& find, const std::vector<std::vector<float>>& batch, const std::vector<uint64_t>& lines) {
  try {
    print(find(batch));
    return;
  } catch (const error& e) {
    if (e.code() != errc::invalid_argument) throw;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    try {
      print(find({batch[i]}));
    } catch (const error& e) {
      throw error(e.code(), "line " + std::to_string(lines[i]) + ": " + e.message());
    }
  }
}

}  // namespace

int run_search(const search_args& a) {
  search_options o;
  o.k = a.k;
  o.metric = parse_metric(a.metric);
  o.threads = a.threads;
  o.exact = a.exact;
  std::unique_ptr<store> st;
  std::shared_ptr<const snapshot> snap;
  std::optional<remote_dataset> server;
  searcher find;
  if (is_remote_uri(a.path)) {
    if (a.version) throw usage_error("--version is not served: a serialake:// search reads the last commit");
    server.emplace(a.path, client_options(a.remote));
    find = [&](const std::vector<std::vector<float>>& q) { return server->search(a.tensor, q, o); };
  } else {
    st = open_read(a.path, a.version);
    snap = st->snapshot();
    if (!snap->has_tensor(a.tensor)) throw usage_error("no tensor '" + a.tensor + "' in " + a.path);
    find = [&](const std::vector<std::vector<float>>& q) { return search(*snap, a.tensor, q, o); };
  }
  std::vector<std::vector<float>> batch;
  std::vector<uint64_t> lines;
  uint64_t lineno = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back(lineno);
    batch.emplace_back();
    parse_query(line, lineno, batch.back());
    if (batch.size() == batch_lines) {
      answer(find, batch, lines);
      batch.clear();
      lines.clear();
    }
  }
  if (!batch.empty()) answer(find, batch, lines);
  if (st) report_damage(*st);
  return 0;
}

int run_index(const index_args& a) {
  index_options o;
  o.metric = parse_metric(a.metric);
  auto st = open_read(a.path, std::nullopt);
  auto snap = st->snapshot();
  if (!snap->has_tensor(a.tensor)) throw usage_error("no tensor '" + a.tensor + "' in " + a.path);
  auto info = create_index(*snap, a.tensor, o);
  std::printf("{\"rows\": %llu, \"version\": %llu}\n", static_cast<unsigned long long>(info.rows),
              static_cast<unsigned long long>(info.version));
  return 0;
}

}  // namespace serialake::cli
