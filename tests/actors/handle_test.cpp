#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <cerrno>
#if defined(__SANITIZE_ADDRESS__)
extern "C" size_t __sanitizer_get_current_allocated_bytes();  // libasan; g++ ships no header for it
#else
#include <malloc.h>
#endif
#include <mutex>
#include <set>
#include <thread>

#include "serialake/dataset.hpp"
#include "actors/caf_error.hpp"
#include "actors/dataset_actor.hpp"
#include "actors/dataset_shared.hpp"
#include "core/file_io.hpp"
#include "tests/temp_dir.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::expect_code;
using serialake::test::temp_dir;
using namespace std::chrono_literals;

namespace {

std::string payload(int producer, int i) {
  return "p" + std::to_string(producer) + "-" + std::to_string(i) + std::string(i % 37, 'x');
}

dataset_options create_opts(durability mode = durability::buffered) {
  dataset_options o;
  o.create = true;
  o.policy.mode = mode;
  o.tuning.chunk_bytes = 64 << 10;
  return o;
}

}  // namespace

TEST_CASE("many threads append; each sample lands once at its future's index, in real-time order") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  ds.create_tensor({"a", dtype::int64, "generic", {}});
  ds.create_tensor({"b", dtype::text, "text", {}});
  const int T = 8, N = 2000;
  std::vector<std::vector<uint64_t>> got(T);
  // Real-time order: completions seen before a call must have a lower index.
  std::atomic<int64_t> max_completed{-1};
  std::atomic<bool> order_ok{true};
  std::vector<std::thread> threads;
  for (int p = 0; p < T; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < N; ++i) {
        int64_t before = max_completed.load();
        uint64_t idx;
        if (i % 10 == 0) {
          row r;
          r.emplace_back("a", sample::scalar<int64_t>(dtype::int64, p * 1000000 + i));
          r.emplace_back("b", sample::of_text(payload(p, i)));
          ds.append_row(std::move(r)).get();
          idx = ds.append("x", sample::of_bytes(payload(p, i))).get();
        } else {
          idx = ds.append("x", sample::of_bytes(payload(p, i))).get();
        }
        if (int64_t(idx) <= before) order_ok = false;
        int64_t m = max_completed.load();
        while (int64_t(idx) > m && !max_completed.compare_exchange_weak(m, idx)) {
        }
        got[p].push_back(idx);
      }
    });
  for (auto& t : threads) t.join();
  ds.flush();
  CHECK(order_ok);
  auto snap = ds.snapshot();
  REQUIRE(snap->length("x") == uint64_t(T * N));
  std::set<uint64_t> all;
  for (int p = 0; p < T; ++p)
    for (int i = 0; i < N; ++i) {
      all.insert(got[p][i]);
      REQUIRE(snap->read("x", got[p][i]).data == payload(p, i));
      if (i) REQUIRE(got[p][i] > got[p][i - 1]);  // a producer's own order holds
    }
  CHECK(all.size() == size_t(T * N));
  // Rows stayed aligned: the text of row k belongs to the same append as its label.
  REQUIRE(snap->length("a") == snap->length("b"));
  for (uint64_t k = 0; k < snap->length("a"); ++k) {
    int64_t v = snap->read("a", k).as<int64_t>()[0];
    REQUIRE(snap->read("b", k).data == payload(int(v / 1000000), int(v % 1000000)));
  }
}

TEST_CASE("appends from borrowed bytes land exactly, while nodes are reused across sizes and threads") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"m", dtype::int32, "generic", {}});
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  const int T = 4, N = 3000;
  // Sizes shrink and grow, so a reused node's buffer must be reassigned, not kept.
  auto size_of = [](int i) { return size_t((i * 7919) % 9000); };
  auto byte_of = [](int p, int i, size_t k) { return char('a' + (p * 31 + i + k) % 26); };
  std::vector<std::vector<std::pair<uint64_t, int>>> got(T);
  std::vector<std::thread> threads;
  for (int p = 0; p < T; ++p)
    threads.emplace_back([&, p] {
      std::string buf;
      std::vector<append_future> fs;
      for (int i = 0; i < N; ++i) {
        buf.resize(size_of(i));
        for (size_t k = 0; k < buf.size(); ++k) buf[k] = byte_of(p, i, k);
        uint64_t dim = buf.size();
        fs.push_back(ds.append("x", sample_view{dtype::bytes, &dim, 1, buf.data(), buf.size()}));
        buf.assign(buf.size(), '#');  // the append copied: changing the source now is harmless
        if (i % 3 == 0) {  // some futures die young: their nodes come back at once
          got[p].emplace_back(fs.back().get(), i);
          fs.clear();
        }
      }
      for (auto& f : fs) (void)f;  // the rest are dropped unread
    });
  for (auto& t : threads) t.join();
  int32_t cells[6] = {1, -2, 3, -4, 5, -6};
  uint64_t shape[2] = {2, 3};
  uint64_t m = ds.append("m", sample_view{dtype::int32, shape, 2, cells, sizeof cells}).get();
  ds.flush();
  auto snap = ds.snapshot();
  CHECK(snap->length("x") == uint64_t(T * N));
  for (int p = 0; p < T; ++p)
    for (auto [idx, i] : got[p]) {
      std::string want(size_of(i), ' ');
      for (size_t k = 0; k < want.size(); ++k) want[k] = byte_of(p, i, k);
      REQUIRE(snap->read("x", idx).data == want);
    }
  auto back = snap->read("m", m);
  CHECK(back.shape == shape_t{2, 3});
  CHECK(back.as<int32_t>() == std::vector<int32_t>(cells, cells + 6));
  // A view that contradicts the tensor's dtype is refused like any sample.
  uint64_t dim = 3;
  CHECK(expect_code(errc::invalid_argument,  // 5 bytes are not a [3] of int32
                    [&] { ds.append("m", sample_view{dtype::int32, &dim, 1, cells, 5}).get(); }));
}

TEST_CASE("appends of threads that exit before the actor applies them all land") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.policy.drain_delay = 50ms;  // the threads are long gone when their ops are applied
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  const int T = 6, N = 500;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> threads;
    for (int p = 0; p < T; ++p)
      threads.emplace_back([&, p] {
        std::string v = std::to_string(round * 1000 + p) + std::string(100, 'y');
        uint64_t dim = v.size();
        for (int i = 0; i < N; ++i) ds.append("x", sample_view{dtype::bytes, &dim, 1, v.data(), v.size()});
      });
    for (auto& t : threads) t.join();
  }
  ds.flush();
  CHECK(ds.snapshot()->length("x") == uint64_t(3 * T * N));
}

namespace {

// Bytes the program has allocated and not freed (ASan's own count under ASan,
// whose quarantine keeps freed blocks resident).
uint64_t live_heap_bytes() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// Appends one sample when the thread that owns it exits.
struct append_at_exit {
  dataset* ds = nullptr;
  ~append_at_exit() {
    if (ds) ds->append("x", sample::of_bytes("at exit")).get();
  }
};

}  // namespace

TEST_CASE("futures kept after their appends completed do not keep the samples' bytes") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  std::string v(32 << 10, 'k');
  uint64_t dim = v.size();
  std::vector<append_future> fs;
  ds.append("x", sample_view{dtype::bytes, &dim, 1, v.data(), v.size()}).get();
  uint64_t before = live_heap_bytes();
  for (int i = 0; i < 3000; ++i)  // 96 MiB of samples, all futures kept
    fs.push_back(ds.append("x", sample_view{dtype::bytes, &dim, 1, v.data(), v.size()}));
  ds.flush();
  for (auto& f : fs) REQUIRE(f.ready());
  uint64_t grown = live_heap_bytes() - before;
  INFO("the heap grew by " << (grown >> 20) << " MiB");
  CHECK(grown < (48ull << 20));  // the queue bound is 16 MiB; held samples would be 96 MiB
}

TEST_CASE("a thread_local destroyed after the thread's node pool can still append") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  std::thread([&] {
    static thread_local append_at_exit late;  // constructed before the pool: destroyed after it
    late.ds = &ds;
    ds.append("x", sample::of_bytes("first")).get();
  }).join();
  ds.flush();
  auto snap = ds.snapshot();
  REQUIRE(snap->length("x") == 2);
  CHECK(snap->read("x", 1).data == "at exit");
}

TEST_CASE("batched appends get contiguous indices and fail as a whole") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"v", dtype::float32, "embedding", shape_t{2}});
  std::vector<sample> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(sample::of<float>(dtype::float32, {float(i), 1}, {2}));
  CHECK(ds.append_batch("v", batch).get() == 0);
  CHECK(ds.append_batch("v", batch).get() == 100);
  batch[50] = sample::of<float>(dtype::float32, {1}, {1});
  auto bad = ds.append_batch("v", batch);
  std::string msg;
  CHECK(expect_code(errc::schema_mismatch, [&] { bad.get(); }, &msg));
  CHECK_THAT(msg, Catch::Contains("fixed shape"));
  ds.flush();
  auto snap = ds.snapshot();
  REQUIRE(snap->length("v") == 200);
  CHECK(snap->read("v", 150).as<float>()[0] == 50.f);
}

TEST_CASE("a snapshot taken while writers run is a consistent prefix that never changes") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.policy.commit_bytes = 4096;  // many commits while writing
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"n", dtype::uint64, "generic", {}});
  ds.create_tensor({"m", dtype::uint64, "generic", {}});
  std::atomic<int> running{4};
  std::vector<std::thread> writers;
  for (int p = 0; p < 4; ++p)
    writers.emplace_back([&, p] {
      for (uint64_t i = 0; i < 3000; ++i) {
        row r;
        r.emplace_back("n", sample::scalar<uint64_t>(dtype::uint64, p * 1000000000ull + i));
        r.emplace_back("m", sample::scalar<uint64_t>(dtype::uint64, p * 1000000000ull + i));
        auto f = ds.append_row(std::move(r));
        if (i % 50 == 0) f.get();
      }
      --running;
    });
  std::vector<std::shared_ptr<const snapshot>> snaps;
  std::vector<std::vector<uint64_t>> seen;
  std::string failure;
  while (running > 0 && snaps.size() < 40) {
    std::this_thread::sleep_for(2ms);
    try {
      auto s = ds.snapshot();
      if (s->length("n") != s->length("m")) failure = "rows not aligned";
      std::vector<uint64_t> vals;
      for (uint64_t i = 0; i < s->length("n"); ++i) vals.push_back(s->read("n", i).as<uint64_t>()[0]);
      snaps.push_back(s);
      seen.push_back(std::move(vals));
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  for (auto& t : writers) t.join();
  CHECK(failure.empty());
  CHECK(snaps.size() > 1);
  ds.flush();
  auto last = ds.snapshot();
  for (size_t k = 0; k < snaps.size(); ++k) {
    REQUIRE(snaps[k]->length("n") == seen[k].size());
    for (uint64_t i = 0; i < seen[k].size(); ++i) {
      REQUIRE(snaps[k]->read("n", i).as<uint64_t>()[0] == seen[k][i]);  // unchanged
      REQUIRE(last->read("n", i).as<uint64_t>()[0] == seen[k][i]);      // a prefix
      REQUIRE(snaps[k]->read("m", i).as<uint64_t>()[0] == seen[k][i]);
    }
    if (k) CHECK(snaps[k]->length("n") >= snaps[k - 1]->length("n"));
  }
}

TEST_CASE("opening the same path twice in one engine shares one dataset actor") {
  temp_dir d;
  engine eng;
  auto a = eng.open(d / "ds", create_opts());
  auto b = eng.open(d / "ds/", create_opts());
  a.create_tensor({"x", dtype::bytes, "generic", {}});
  b.append("x", sample::of_bytes("from b")).get();
  a.flush();
  CHECK(a.snapshot()->read("x", 0).data == "from b");
  b.close();
  CHECK(expect_code(errc::closed, [&] { a.append("x", sample::of_bytes("late")); }));
  // A dataset created through a relative path is the same one by its absolute path.
  auto rel = std::filesystem::relative(d / "rel").string();
  auto r1 = eng.open(rel, create_opts());
  auto r2 = eng.open(d / "rel", create_opts());
  r1.create_tensor({"y", dtype::bytes, "generic", {}});
  r2.append("y", sample::of_bytes("same")).get();
  r1.flush();
  CHECK(r1.snapshot()->length("y") == 1);
  // A closed dataset can be opened again.
  auto c = eng.open(d / "ds");
  CHECK(c.snapshot()->length("x") == 1);
}

TEST_CASE("backpressure bounds the queued bytes while the store is slow") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.queue_bytes = 256 << 10;
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  {
    io::fault_guard slow_writes([](const io::call& c) {
      if (c.kind == io::op::write) std::this_thread::sleep_for(2ms);
      return io::fault{};
    });
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p)
      producers.emplace_back([&] {
        for (int i = 0; i < 300; ++i) ds.append("x", sample::of_bytes(std::string(4000, 'b')));
      });
    for (auto& t : producers) t.join();
    ds.flush();
  }
  CHECK(ds.peak_queued_bytes() <= opts.queue_bytes);
  CHECK(ds.peak_queued_bytes() > opts.queue_bytes / 2);  // the bound was actually reached
  CHECK(ds.snapshot()->length("x") == 1200);
}

TEST_CASE("a producer that asked for a queue timeout gets errc::timeout") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.queue_bytes = 64 << 10;
  opts.queue_timeout = 20ms;
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  bool timed_out = false;
  {
    io::fault_guard slow_writes([](const io::call& c) {
      if (c.kind == io::op::write) std::this_thread::sleep_for(200ms);
      return io::fault{};
    });
    try {
      for (int i = 0; i < 1000; ++i) ds.append("x", sample::of_bytes(std::string(4000, 't')));
    } catch (const error& e) {
      timed_out = e.code() == errc::timeout;
    }
  }
  CHECK(timed_out);
}

TEST_CASE("a failed fsync turns the dataset actor into a refusing state") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts(durability::durable));
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  CHECK(ds.append("x", sample::of_bytes("kept")).get() == 0);
  auto before = ds.snapshot();
  {
    io::fault_guard syncs_fail([](const io::call& c) {
      return io::fault{c.kind == io::op::sync ? EIO : 0};
    });
    auto f = ds.append("x", sample::of_bytes("lost"));
    try {
      f.get();
      FAIL("durable append succeeded without a sync");
    } catch (const error& e) {
      CHECK(e.code() == errc::io);
      CHECK_THAT(e.message(), Catch::Contains("cannot sync"));
    }
  }
  // No silent retry: later writes get the error, though the disk works again.
  std::string msg;
  CHECK(expect_code(errc::io, [&] { ds.append("x", sample::of_bytes("after")).get(); }, &msg));
  CHECK_THAT(msg, Catch::Contains("refuses writes"));
  CHECK(expect_code(errc::io, [&] { ds.flush(); }, &msg));
  CHECK_THAT(msg, Catch::Contains("cannot sync"));
  CHECK(expect_code(errc::io, [&] { ds.create_tensor({"y", dtype::bytes, "generic", {}}); }));
  // Snapshots stay readable.
  CHECK(ds.snapshot()->read("x", 0).data == "kept");
  CHECK(before->read("x", 0).data == "kept");
}

TEST_CASE("buffered appends are committed by the timer without a flush") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.policy.commit_interval = 50ms;
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  ds.append("x", sample::of_bytes("tick")).get();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ds.snapshot()->length("x") == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(ds.snapshot()->length("x") == 1);
  CHECK(ds.log(true).size() == 1);
  // The timer re-arms for appends after a timed commit.
  ds.append("x", sample::of_bytes("tock")).get();
  deadline = std::chrono::steady_clock::now() + 5s;
  while (ds.snapshot()->length("x") == 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(ds.snapshot()->length("x") == 2);
}

TEST_CASE("buffered appends nobody waits for are applied within the drain delay") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.policy.commit_interval = 1h;  // only the drain timer may apply them
  opts.policy.drain_delay = 20ms;
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  std::vector<append_future> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(ds.append("x", sample::of_bytes("s" + std::to_string(i))));
  auto all_ready = [&] {
    for (auto& f : fs)
      if (!f.ready()) return false;
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  REQUIRE(all_ready());
  for (int i = 0; i < 10; ++i) CHECK(fs[i].get() == uint64_t(i));
}

TEST_CASE("a thread waiting on a buffered append does not wait for the batch to fill") {
  temp_dir d;
  engine eng;
  auto opts = create_opts();
  opts.policy.commit_interval = 1h;
  opts.policy.drain_delay = 1h;  // were get() not to hurry the actor, it would hang
  auto ds = eng.open(d / "ds", opts);
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  // Bounded: a get() that did not hurry the actor would wait for the 1 h drain.
  for (int i = 0; i < 100; ++i) {
    auto f = ds.append("x", sample::of_bytes("v"));
    REQUIRE(f.wait_for(10s));
    CHECK(f.get() == uint64_t(i));
  }
  auto f = ds.append("x", sample::of_bytes("w"));
  CHECK(f.wait_for(10s));
  // A batch of drain_bytes is applied without anyone waiting.
  std::vector<append_future> fs;
  for (int i = 0; i < 400; ++i) fs.push_back(ds.append("x", sample::of_bytes(std::string(4096, 'z'))));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!fs.front().ready() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  CHECK(fs.front().ready());
}

TEST_CASE("under a steady stream of durable appends, control calls still get through") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts(durability::durable));
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> appended{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 6; ++p)
    threads.emplace_back([&] {
      while (!stop) {
        ds.append("x", sample::of_bytes("d")).get();
        ++appended;
      }
    });
  // The actor lingers for more appends after each commit; it must still come
  // back to its mailbox, or these calls would wait for the producers to stop.
  for (int i = 0; i < 20; ++i) {
    uint64_t before = appended.load();
    ds.flush();
    CHECK(ds.snapshot()->length("x") >= before);
  }
  stop = true;
  for (auto& t : threads) t.join();
  CHECK(ds.snapshot()->length("x") == appended.load());
}

TEST_CASE("errors reach the future that caused them and spare the others") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts(durability::durable));
  ds.create_tensor({"l", dtype::int64, "class_label", {}});
  auto good1 = ds.append("l", sample::scalar<int64_t>(dtype::int64, 1));
  auto bad = ds.append("l", sample::of_text("one"));
  auto missing = ds.append("nope", sample::scalar<int64_t>(dtype::int64, 1));
  auto good2 = ds.append("l", sample::scalar<int64_t>(dtype::int64, 2));
  CHECK(good1.get() == 0);
  CHECK(good2.get() == 1);
  try {
    bad.get();
    FAIL();
  } catch (const error& e) {
    CHECK(e.code() == errc::schema_mismatch);
  }
  try {
    missing.get();
    FAIL();
  } catch (const error& e) {
    CHECK(e.code() == errc::not_found);
  }
  CHECK(ds.commit("two labels").message == "two labels");
  CHECK(ds.log().size() == 1);
}

TEST_CASE("read-only handles refuse writes and refresh to see new commits") {
  temp_dir d;
  engine eng;
  auto w = eng.open(d / "ds", create_opts());
  w.create_tensor({"x", dtype::bytes, "generic", {}});
  dataset_options ro;
  ro.read_only = true;
  auto r = eng.open(d / "ds", ro);
  CHECK(expect_code(errc::read_only, [&] { r.append("x", sample::of_bytes("no")); }));
  w.append("x", sample::of_bytes("yes"));
  w.flush();
  CHECK(r.snapshot()->length("x") == 0);
  CHECK(r.refresh());
  CHECK(r.snapshot()->read("x", 0).data == "yes");
}

TEST_CASE("a reader actor serves reads from its snapshot") {
  temp_dir d;
  engine eng;
  auto ds = eng.open(d / "ds", create_opts());
  ds.create_tensor({"x", dtype::bytes, "generic", {}});
  for (int i = 0; i < 10; ++i) ds.append("x", sample::of_bytes(payload(0, i)));
  ds.flush();
  auto& sys = detail::engine_access::system(eng);
  auto reader = spawn_reader(sys, ds.snapshot());
  ds.append("x", sample::of_bytes("not in the snapshot"));
  ds.flush();
  {
    caf::scoped_actor self{sys};
    self->request(reader, caf::infinite, read_atom::value, std::string("x"), uint64_t{7})
        .receive([&](const sample& s) { CHECK(s.data == payload(0, 7)); },
                 [&](const caf::error& e) { FAIL(sys.render(e)); });
    self->request(reader, caf::infinite, length_atom::value, std::string("x"))
        .receive([&](uint64_t n) { CHECK(n == 10); },
                 [&](const caf::error& e) { FAIL(sys.render(e)); });
    // Errors keep their errc and message across the actor boundary (kills a
    // reader that answers every failure with sec::runtime_error).
    self->request(reader, caf::infinite, read_atom::value, std::string("x"), uint64_t{10})
        .receive([&](const sample&) { FAIL("read past the snapshot"); },
                 [&](const caf::error& e) {
                   auto err = from_caf_error(e, sys);
                   CHECK(err.code() == errc::not_found);
                   CHECK(err.message().find("10") != std::string::npos);
                   CHECK(sys.render(e).find("not_found") != std::string::npos);
                 });
    self->request(reader, caf::infinite, length_atom::value, std::string("nope"))
        .receive([&](uint64_t) { FAIL("length of a missing tensor"); },
                 [&](const caf::error& e) {
                   auto err = from_caf_error(e, sys);
                   CHECK(err.code() == errc::not_found);
                   CHECK(err.message().find("nope") != std::string::npos);
                 });
    self->send_exit(reader, caf::exit_reason::user_shutdown);
  }
  reader = nullptr;
}
