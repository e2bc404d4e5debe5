// A program embedding serialake through the installed package: threads append,
// continuations count them, a snapshot reads them back in bulk, and the
// handle's search finds a vector.
#include <serialake/handle_search.hpp>
#include <serialake/lock_services.hpp>
#include <serialake/remote.hpp>
#include <serialake/serialake.hpp>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 64;
  try {  // the lock services link from the installed tree too
    serialake::lock_backend_for("nope://127.0.0.1/x");
    return 3;
  } catch (const serialake::error& e) {
    if (e.code() != serialake::errc::invalid_argument) return 3;
  }
  try {  // the client of serialake serve links from the installed tree too (gRPC, protobuf)
    serialake::remote_dataset ds("serialake://127.0.0.1:1/none");  // nobody listens on port 1
    return 4;
  } catch (const serialake::error& e) {
    if (e.code() != serialake::errc::unavailable) return 4;
  }
  serialake::engine eng;
  serialake::dataset_options o;
  o.create = true;
  auto ds = eng.open(argv[1], o);
  ds.create_tensor({"n", serialake::dtype::int64, "generic", serialake::shape_t{}});  // fixed: scalars
  std::mutex mtx;
  std::condition_variable cv;
  int done = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        ds.append("n", serialake::sample::scalar<int64_t>(serialake::dtype::int64, t * 1000 + i))
          .then([&](serialake::append_future f) {
            f.get();
            std::lock_guard<std::mutex> g(mtx);
            if (++done == 1000) cv.notify_all();
          });
    });
  for (auto& t : ts) t.join();
  {
    std::unique_lock<std::mutex> lk(mtx);
    if (!cv.wait_for(lk, std::chrono::seconds(60), [&] { return done == 1000; })) return 2;
  }
  ds.flush();
  auto snap = ds.snapshot();
  uint64_t n = 0, sum = 0;
  snap->scan("n", 0, snap->length("n"), [&](const serialake::sample_span& s) {
    const auto* v = static_cast<const int64_t*>(s.data);
    for (uint64_t i = 0; i < s.count; ++i, ++n) sum += static_cast<uint64_t>(v[i]);
  });
  int64_t first = 0;
  snap->read_into("n", 0, &first, sizeof first);
  std::printf("consumer: %llu samples\n", static_cast<unsigned long long>(n));
  uint64_t want = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 250; ++i) want += static_cast<uint64_t>(t * 1000 + i);
  if (n != 1000 || sum != want) return 1;
  // Search links from the installed tree: the nearest of three vectors.
  ds.create_tensor({"emb", serialake::dtype::float32, "embedding", serialake::shape_t{2}});
  for (float x : {0.0f, 5.0f, 9.0f})
    ds.append("emb", serialake::sample::of(serialake::dtype::float32, std::vector<float>{x, 1.0f}, {2}));
  ds.flush();
  const float q[2] = {4.5f, 1.0f};
  serialake::search_options so;
  so.k = 1;
  so.metric = serialake::metric::l2;
  auto r = serialake::search(ds, "emb", {q, 1, 2}, so).get();
  std::printf("consumer: nearest row %llu\n", static_cast<unsigned long long>(r.hits.at(0).at(0).index));
  return r.hits[0][0].index == 1 ? 0 : 5;
}
