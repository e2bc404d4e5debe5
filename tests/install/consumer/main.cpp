// A program embedding serialake through the installed package.
#include <serialake/serialake.hpp>

#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  serialake::engine eng;
  serialake::dataset_options o;
  o.create = true;
  auto ds = eng.open(argv[1], o);
  ds.create_tensor({"n", serialake::dtype::int64, "generic", {}});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        ds.append("n", serialake::sample::scalar<int64_t>(serialake::dtype::int64, t * 1000 + i));
    });
  for (auto& t : ts) t.join();
  ds.flush();
  auto n = ds.snapshot()->length("n");
  std::printf("consumer: %llu samples\n", static_cast<unsigned long long>(n));
  return n == 1000 ? 0 : 1;
}
