// The foundation's main job: create a dataset with a few tensors, append a few
// thousand rows, commit, reopen, verify and print a summary.

#include <chrono>
#include <cstdio>
#include <string>

#include "serialake/error.hpp"
#include "core/snapshot_data.hpp"
#include "core/store.hpp"

using namespace serialake;

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "demo.serialake";
  const int rows = 5000;
  try {
    auto t0 = std::chrono::steady_clock::now();
    {
      auto s = store::create(path);
      s->create_tensor({"image", dtype::uint8, "image", {}});
      s->create_tensor({"label", dtype::int64, "class_label", {}});
      s->create_tensor({"embedding", dtype::float32, "embedding", shape_t{8}});
      s->create_tensor({"caption", dtype::text, "text", {}});
      for (int i = 0; i < rows; ++i) {
        uint64_t h = 16 + i % 17, w = 16 + i % 13;
        row r;
        r.emplace_back("image", sample::of<uint8_t>(dtype::uint8,
                                                    std::vector<uint8_t>(h * w * 3, uint8_t(i)),
                                                    {h, w, 3}));
        r.emplace_back("label", sample::scalar<int64_t>(dtype::int64, i % 10));
        r.emplace_back("embedding", sample::of<float>(dtype::float32, std::vector<float>(8, i * 0.5f), {8}));
        r.emplace_back("caption", sample::of_text("sample number " + std::to_string(i)));
        s->append_row(r);
      }
      s->commit("demo rows");
    }
    auto s = store::open(path, {true, {}, {}, {}});
    auto snap = s->snapshot();
    for (int i = 0; i < rows; ++i) {
      if (snap->read("label", i).as<int64_t>()[0] != i % 10 ||
          snap->read("image", i).shape != shape_t{uint64_t(16 + i % 17), uint64_t(16 + i % 13), 3}) {
        std::fprintf(stderr, "demo: row %d read back wrong\n", i);
        return 1;
      }
    }
    auto problems = s->verify();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("dataset %s: version %llu, %zu tensors\n", path.c_str(),
                static_cast<unsigned long long>(snap->version()), snap->tensors().size());
    for (auto& t : snap->data().tensors)
      std::printf("  %-10s %-8s %-12s %llu samples in %zu chunk(s)\n", t.spec.name.c_str(),
                  to_string(t.spec.type), t.spec.htype.c_str(),
                  static_cast<unsigned long long>(t.length), t.chunks.size());
    std::printf("verify: %s; %d rows written, reopened and checked in %.2f s\n",
                problems.empty() ? "ok" : "PROBLEMS FOUND", rows, secs);
    return problems.empty() ? 0 : 1;
  } catch (const error& e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
  }
}
