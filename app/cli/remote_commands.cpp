// The commands given a serialake:// URI instead of a dataset directory: they do
// the same through a server (`serialake serve`) with remote_dataset, and print
// what their local forms print.

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>
#include "app/cli/commands.hpp"
#include "serialake/remote.hpp"

namespace serialake::cli {

remote_options client_options(const remote_args& r) {
  remote_options o;
  o.token = remote_token(r.token_file);
  o.tls_ca = r.tls_ca;
  return o;
}

int run_remote_create(const create_args& a) {
  remote_dataset::create(a.path, parse_tensor_args(a.tensors), client_options(a.remote));
  std::printf("created %s with %zu tensor%s\n", a.path.c_str(), a.tensors.size(), a.tensors.size() == 1 ? "" : "s");
  return 0;
}

int run_remote_append(const append_args& a) {
  remote_options o = client_options(a.remote);
  o.durable = a.durable;
  remote_dataset ds(a.path, o);
  const uint64_t n = append_stdin(ds.tensors(), a.path, a.allow_missing, [&](std::vector<row> rows) {
    ds.append_rows(std::move(rows)).get();  // one batch; with --durable, on the server's disk
    ds.flush();
  });
  ds.close();
  std::printf("appended %llu row%s to %s\n", static_cast<unsigned long long>(n), n == 1 ? "" : "s",
              a.path.c_str());
  return 0;
}

int run_remote_commit(const commit_args& a) {
  if (a.message.empty()) throw usage_error("the commit message must not be empty");
  remote_dataset ds(a.path, client_options(a.remote));
  commit_info ci = ds.commit(a.message);
  std::printf("committed version %llu: %s\n", static_cast<unsigned long long>(ci.version),
              escaped(a.message).c_str());
  return 0;
}

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

int run_remote_log(const log_args& a) {
  remote_dataset ds(a.path, client_options(a.remote));
  print_log(ds.log(true), a.all);
  return 0;
}

}  // namespace serialake::cli
