// cat, info and verify given a serialake:// URI instead of a dataset directory:
// they read through a server (`serialake serve`) with remote_dataset, where
// their local forms read a snapshot, and print what their local forms print.

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>
#include "app/cli/commands.hpp"
#include "serialake/remote.hpp"

namespace serialake::cli {

int run_remote_cat(const cat_args& a) {
  if (a.version) throw usage_error("--version is not served yet: cat of a serialake:// URI reads the last commit");
  if (a.end && a.start > *a.end) throw usage_error("--start is past --end");
  remote_dataset ds(a.path, client_options(a.remote));
  std::map<std::string, tensor_spec> specs;
  for (auto& t : ds.tensors()) specs.emplace(t.name, t);
  for (auto& t : a.tensors)
    if (!specs.count(t)) throw usage_error("no tensor '" + t + "' in " + a.path);
  row_printer out;
  std::vector<std::pair<const tensor_spec*, sample>> fields;
  try {
    ds.read(a.start, a.end, a.tensors, [&](uint64_t i, row& r) {
      fields.clear();
      for (auto& [t, smp] : r) fields.emplace_back(&specs.at(t), std::move(smp));
      out.print(i, fields);
    });
  } catch (...) {
    out.flush_out();  // the rows before the failure are good output
    throw;
  }
  out.flush_out();
  return 0;
}

int run_remote_info(const info_args& a) {
  if (a.version) throw usage_error("--version is not served yet: info of a serialake:// URI shows the last commit");
  remote_dataset ds(a.path, client_options(a.remote));
  remote_info in = ds.info();
  if (a.json) {
    nlohmann::ordered_json j;
    j["uri"] = a.path;
    j["version"] = in.version;
    j["tensors"] = nlohmann::ordered_json::array();
    for (auto& t : in.tensors) {
      nlohmann::ordered_json tj;
      tj["name"] = t.spec.name;
      tj["dtype"] = to_string(t.spec.type);
      tj["htype"] = t.spec.htype;
      tj["shape"] = shape_text(t.spec);
      tj["length"] = t.length;
      j["tensors"].push_back(tj);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("dataset %s\nversion %llu\n", a.path.c_str(), static_cast<unsigned long long>(in.version));
  std::printf("%-20s %-8s %-12s %-12s %s\n", "tensor", "dtype", "htype", "shape", "length");
  for (auto& t : in.tensors)
    std::printf("%-20s %-8s %-12s %-12s %llu\n", t.spec.name.c_str(), to_string(t.spec.type),
                t.spec.htype.c_str(), shape_text(t.spec).c_str(), static_cast<unsigned long long>(t.length));
  return 0;
}

int run_remote_verify(const verify_args& a) {
  if (a.version) throw usage_error("--version is not served yet: verify of a serialake:// URI checks the last commit");
  remote_verify v = remote_dataset(a.path, client_options(a.remote)).verify();
  report_verify(v.problems, a.path, v.version, v.samples, v.tensors);
  return 0;
}

}  // namespace serialake::cli
