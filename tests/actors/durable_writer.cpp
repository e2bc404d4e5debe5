// Test helper: appends to DIR in durable mode from THREADS threads until killed,
// printing "index thread seq" for every append whose future completed.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "serialake/dataset.hpp"

using namespace serialake;

std::string payload(int t, int i) {
  return "t" + std::to_string(t) + "/" + std::to_string(i) + std::string(i % 300, char('a' + t));
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: durable_writer DIR THREADS\n");
    return 64;
  }
  engine eng;
  dataset_options o;
  o.create = true;
  o.policy.mode = durability::durable;
  o.tuning.chunk_bytes = 256 << 10;
  auto ds = eng.open(argv[1], o);
  if (ds.tensors().empty()) ds.create_tensor({"x", dtype::bytes, "generic", {}});
  int threads = std::stoi(argv[2]);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        uint64_t idx = ds.append("x", sample::of_bytes(payload(t, i))).get();
        char line[64];
        int n = std::snprintf(line, sizeof line, "%llu %d %d\n", (unsigned long long)idx, t, i);
        if (::write(1, line, n) != n) return;  // one write per line: atomic on a pipe
      }
    });
  for (auto& t : ts) t.join();
}
