// Test helper for the crash loop (tests/actors/crash_loop_test.cpp): writes to
// DIR through the public handle until it is killed, continuing from the lengths
// it finds, and reports on stdout what was acknowledged, one write() per line
// (atomic on a pipe, so a SIGKILL never leaves half a line):
//   S <seed> <child seed> <mode> <version>   opened (version = last commit)
//   A <tensor> <index> <hash>                an acknowledged sample (crash::content_hash)
//   T <tensor>                               create_tensor returned
//   C <version> <message>                    a named commit returned
//   E <what>                                 an error; it exits 1
// Usage: crash_child DIR SEED CHILD_SEED durable|buffered
// SEED fixes the content (tests/actors/crash_content.hpp), CHILD_SEED the ops.
// durable: an append is acknowledged when its future completes (futures are
// waited in order, up to a seeded window outstanding, so group commit batches
// them). buffered: futures complete once applied, which is not durable, so
// appends are acknowledged only when a flush() or commit() after them returns.
// Half the children write `blob` from a second thread, so appends from two
// producers interleave in the queue (each tensor has one producer, which is
// how each knows the index its appends must get).

#include <unistd.h>

#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "serialake/dataset.hpp"
#include "tests/actors/crash_content.hpp"

using namespace serialake;
namespace crash = serialake::test::crash;

namespace {

void say(const std::string& s) {
  std::string line = s + "\n";
  if (::write(1, line.data(), line.size()) != ssize_t(line.size())) std::_Exit(3);
}

// One queued append and the samples it acknowledges once done.
struct pending {
  append_future f;
  uint64_t first = 0;  // the index it must get
  std::vector<std::string> lines;
};

// What the producer threads share. Each tensor is written by one thread only,
// so each thread knows the index every append of its own must get.
struct shared {
  dataset ds;
  uint64_t seed;
  bool durable;
  std::mutex m;
  std::vector<std::string> applied;  // buffered: applied, not yet acknowledged

  void add_applied(std::vector<std::string>& lines) {
    std::lock_guard<std::mutex> g(m);
    for (auto& l : lines) applied.push_back(std::move(l));
  }
  // A flush or commit: what was applied before the call is durable when it returns.
  template <class F>
  void sync(F&& f) {
    std::vector<std::string> before;
    {
      std::lock_guard<std::mutex> g(m);
      before.swap(applied);
    }
    f();
    for (auto& l : before) say(l);
  }
};

// One producer thread: its appends, in order, a seeded window of them outstanding.
class lane {
 public:
  lane(shared& sh, uint64_t seed) : sh_(sh), rng_(seed), window_(1 + rng_() % 32) {
    auto snap = sh_.ds.snapshot();
    for (auto& t : snap->tensors()) next_[t.name] = snap->length(t.name);
  }

  void append_rows(size_t n) {
    std::vector<row> rows(n);
    pending p;
    p.first = next_["label"];
    for (auto& r : rows) {
      for (auto& t : crash::row_tensors()) {
        uint64_t i = next_[t]++;
        sample s = crash::content(sh_.seed, t, i);
        p.lines.push_back(ack_line(t, i, s));
        r.emplace_back(t, std::move(s));
      }
    }
    p.f = n == 1 ? sh_.ds.append_row(std::move(rows[0])) : sh_.ds.append_rows(std::move(rows));
    push(std::move(p));
  }

  void append_solo(const std::string& t, size_t n) {
    std::vector<sample> batch;
    pending p;
    p.first = next_[t];
    for (size_t k = 0; k < n; ++k) {
      uint64_t i = next_[t]++;
      sample s = crash::content(sh_.seed, t, i);
      p.lines.push_back(ack_line(t, i, s));
      batch.push_back(std::move(s));
    }
    p.f = n == 1 ? sh_.ds.append(t, std::move(batch[0])) : sh_.ds.append_batch(t, std::move(batch));
    push(std::move(p));
  }

  /// Waits for every outstanding append of this thread.
  void settle_all() {
    while (!queue_.empty()) settle_front();
  }
  std::mt19937_64& rng() { return rng_; }
  size_t outstanding() const { return queue_.size(); }
  void start_tensor(const std::string& t) { next_[t] = 0; }

 private:
  static std::string ack_line(const std::string& t, uint64_t i, const sample& s) {
    return "A " + t + " " + std::to_string(i) + " " + std::to_string(crash::content_hash(s));
  }
  void push(pending p) {
    queue_.push_back(std::move(p));
    while (queue_.size() > window_) settle_front();
  }
  // Waits for the oldest append; durable mode acknowledges it now, buffered
  // mode at the next flush or commit.
  void settle_front() {
    pending p = std::move(queue_.front());
    queue_.pop_front();
    uint64_t got = p.f.get();
    if (got != p.first) {
      say("E index " + std::to_string(got) + " where " + std::to_string(p.first) + " was due (" +
          p.lines.front() + ")");
      std::_Exit(1);
    }
    if (sh_.durable) {
      for (auto& l : p.lines) say(l);
    } else {
      sh_.add_applied(p.lines);
    }
  }

  shared& sh_;
  std::mt19937_64 rng_;
  size_t window_;
  std::map<std::string, uint64_t> next_;
  std::deque<pending> queue_;
};

// The main thread: rows, extras (and blob, unless a second thread writes it),
// create_tensor, named commits and flushes.
class writer {
 public:
  writer(shared& sh, uint64_t child_seed) : sh_(sh), child_seed_(child_seed) {
    ensure_tensors();
    main_ = std::make_unique<lane>(sh_, child_seed);
    blob_thread_ = main_->rng()() % 2;
  }

  [[noreturn]] void run() {
    if (blob_thread_) {
      std::thread([this] {
        lane blob(sh_, mix_seed());
        try {
          for (;;) blob.append_solo(crash::blob_tensor, 1 + blob.rng()() % 4);
        } catch (const std::exception& e) {
          say(std::string("E blob thread: ") + e.what());
          std::_Exit(1);
        }
      }).detach();
    }
    for (;;) step();
  }

 private:
  uint64_t mix_seed() const { return crash::mix(child_seed_ ^ 0xb10b); }

  void ensure_tensors() {
    std::set<std::string> have;
    for (auto& t : sh_.ds.tensors()) have.insert(t.name);
    std::vector<std::string> base = crash::row_tensors();
    base.push_back(crash::blob_tensor);
    for (auto& n : base)
      if (!have.count(n)) create(n);
    while (have.count(crash::extra_name(extras_))) ++extras_;
  }

  void create(const std::string& name) {
    sh_.ds.create_tensor(crash::spec_of(name));
    say("T " + name);
  }

  // One seeded operation.
  void step() {
    auto& rng = main_->rng();
    unsigned r = rng() % 100;
    if (r < 40 || (r >= 70 && r < 76 && blob_thread_)) {
      main_->append_rows(1);
    } else if (r < 48) {
      main_->append_rows(2 + rng() % 5);
    } else if (r < 70) {
      if (blob_thread_) main_->append_rows(1);
      else main_->append_solo(crash::blob_tensor, r < 64 ? 1 : 2 + rng() % 7);
    } else if (r < 88) {
      if (extras_ > 0) main_->append_solo(crash::extra_name(int(rng() % extras_)), 1 + rng() % 4);
    } else if (r < 90) {
      if (extras_ < crash::max_extras) {
        auto name = crash::extra_name(extras_++);
        create(name);
        main_->start_tensor(name);
      }
    } else if (r < 93) {
      std::string msg = "c-" + std::to_string(child_seed_) + "-" + std::to_string(commits_++);
      main_->settle_all();
      commit_info c;
      sh_.sync([&] { c = sh_.ds.commit(msg); });
      say("C " + std::to_string(c.version) + " " + msg);
    } else if (!sh_.durable || r < 96) {
      main_->settle_all();
      sh_.sync([&] { sh_.ds.flush(); });
    }
  }

  shared& sh_;
  uint64_t child_seed_;
  std::unique_ptr<lane> main_;
  bool blob_thread_ = false;
  int extras_ = 0;
  int commits_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: crash_child DIR SEED CHILD_SEED durable|buffered\n");
    return 64;
  }
  const std::string dir = argv[1], mode = argv[4];
  const uint64_t seed = std::stoull(argv[2]), child_seed = std::stoull(argv[3]);
  try {
    std::mt19937_64 rng(child_seed ^ 0x5eed);
    engine eng;
    dataset_options o;
    o.create = true;
    o.lock_timeout = std::chrono::seconds(10);  // the killed writer's flock goes with it
    o.policy.mode = mode == "durable" ? durability::durable : durability::buffered;
    // Buffered: commits of its own on a short timer and at 256 KiB, so kills
    // also land in commits nobody waited for.
    o.policy.commit_interval = std::chrono::milliseconds(5 + rng() % 30);
    o.policy.commit_bytes = 256 << 10;
    // Small chunks seal often; a small write buffer sends commits to chunk
    // files, the default one keeps small commits inline in the log.
    o.tuning.chunk_bytes = rng() % 2 ? 64 << 10 : 1 << 20;
    o.tuning.write_buffer_bytes = rng() % 2 ? 8 << 10 : 1 << 20;
    auto ds = eng.open(dir, o);
    say("S " + std::to_string(seed) + " " + std::to_string(child_seed) + " " + mode + " " +
        std::to_string(ds.snapshot()->version()));
    shared sh{ds, seed, mode == "durable", {}, {}};
    writer(sh, child_seed).run();
  } catch (const std::exception& e) {
    say(std::string("E seed ") + argv[2] + " child seed " + argv[3] + ": " + e.what());
    return 1;
  }
}
