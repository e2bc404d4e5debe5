// `serialake info`: what a dataset holds, as a table or as JSON (--json).
// Read-only: never takes the lock.

#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/commands.hpp"
#include "serialake/lock.hpp"
#include "core/snapshot_data.hpp"
#include "core/store.hpp"

namespace serialake::cli {
namespace {

struct tensor_stats {
  const tensor_view* view;
  uint64_t bytes = 0;  ///< stored bytes of the samples (dims prefixes included)
};

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace

std::string shape_text(const tensor_spec& s) {
  if (!s.shape) return "variable";
  if (s.shape->empty()) return "scalar";
  std::string out;
  for (auto d : *s.shape) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

int run_info(const info_args& a) {
  if (is_remote_uri(a.path)) return run_remote_info(a);
  auto st = open_read(a.path, a.version);
  auto snap = st->snapshot();
  // The index entries already hold each sample's stored size: no chunk is read.
  std::vector<tensor_stats> stats;
  for (auto& t : snap->data().tensors) {
    tensor_stats s{&t};
    for (uint64_t i = 0; i < t.length; ++i) s.bytes += t.entry(i).size;
    stats.push_back(s);
  }
  // The log of the latest version: commits after an opened --version are listed too.
  auto all = st->log(true);
  auto named = st->log(false);

  // Who holds the lock right now (probing it never takes it for long; a missing
  // lock file is no holder).
  auto holder = file_lock_backend()->holder(a.path, lock_settings{});

  if (a.json) {
    nlohmann::ordered_json j;
    j["path"] = snap->path();
    j["version"] = snap->version();
    j["commits"] = all.size();
    auto& jt = j["tensors"] = nlohmann::ordered_json::array();
    for (auto& s : stats) {
      const tensor_spec& spec = s.view->spec;
      jt.push_back({{"name", spec.name},
                    {"dtype", to_string(spec.type)},
                    {"htype", spec.htype},
                    {"shape", spec.shape ? nlohmann::ordered_json(*spec.shape) : nullptr},
                    {"length", s.view->length},
                    {"chunks", s.view->chunks.size()},
                    {"bytes", s.bytes}});
    }
    if (holder)
      j["lock"] = {{"kind", holder->kind}, {"host", holder->host}, {"pid", holder->pid},
                   {"since", iso_time(holder->since_ms)}, {"generation", holder->generation}};
    else
      j["lock"] = nullptr;
    auto& jc = j["named_commits"] = nlohmann::ordered_json::array();
    for (auto& c : named)
      jc.push_back({{"version", c.version}, {"time", iso_time(c.time_ms)},
                    {"message", c.message}, {"samples", c.samples}});
    if (auto d = st->damage()) j["damage"] = *d;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    report_damage(*st);
    return 0;
  }

  std::printf("dataset  %s\n", snap->path().c_str());
  std::printf("version  %llu (%zu commit%s, %zu named)\n",
              static_cast<unsigned long long>(snap->version()), all.size(),
              all.size() == 1 ? "" : "s", named.size());
  std::printf("lock     %s\n", holder ? holder->describe().c_str() : "free");
  std::printf("\n  %-16s %-8s %-12s %-12s %10s %7s %11s\n", "tensor", "dtype", "htype", "shape",
              "length", "chunks", "bytes");
  for (auto& s : stats) {
    const tensor_spec& spec = s.view->spec;
    std::printf("  %-16s %-8s %-12s %-12s %10llu %7zu %11s\n", spec.name.c_str(),
                to_string(spec.type), spec.htype.c_str(), shape_text(spec).c_str(),
                static_cast<unsigned long long>(s.view->length), s.view->chunks.size(),
                human_bytes(s.bytes).c_str());
  }
  if (!named.empty()) {
    std::printf("\nnamed commits\n");
    for (auto& c : named)
      std::printf("  v%-5llu %s  %s\n", static_cast<unsigned long long>(c.version),
                  iso_time(c.time_ms).c_str(), escaped(c.message).c_str());
  }
  if (auto d = st->damage()) std::printf("\ndamaged  %s\n", d->c_str());
  report_damage(*st);
  return 0;
}

}  // namespace serialake::cli
