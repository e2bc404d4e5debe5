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

#include <unistd.h>

#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "actors/dataset.hpp"
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

class writer {
 public:
  writer(dataset ds, uint64_t seed, uint64_t child_seed, bool durable)
    : ds_(std::move(ds)), seed_(seed), rng_(child_seed), child_seed_(child_seed), durable_(durable) {
    window_ = 1 + rng_() % 32;
  }

  void run() {
    ensure_tensors();
    for (;;) step();
  }

 private:
  void ensure_tensors() {
    std::map<std::string, bool> have;
    for (auto& t : ds_.tensors()) have[t.name] = true;
    std::vector<std::string> base = crash::row_tensors();
    base.push_back(crash::blob_tensor);
    for (auto& n : base)
      if (!have[n]) create(n);
    while (have[crash::extra_name(extras_)]) ++extras_;
    auto snap = ds_.snapshot();
    for (auto& t : snap->tensors()) next_[t.spec.name] = t.length;
  }

  void create(const std::string& name) {
    ds_.create_tensor(crash::spec_of(name));
    say("T " + name);
  }

  // One seeded operation.
  void step() {
    unsigned r = rng_() % 100;
    if (r < 40) {
      append_rows(1);
    } else if (r < 48) {
      append_rows(2 + rng_() % 5);
    } else if (r < 70) {
      append_solo(crash::blob_tensor, 1);
    } else if (r < 76) {
      append_solo(crash::blob_tensor, 2 + rng_() % 7);
    } else if (r < 88) {
      if (extras_ > 0) append_solo(crash::extra_name(int(rng_() % extras_)), 1 + rng_() % 4);
    } else if (r < 90) {
      if (extras_ < crash::max_extras) {
        auto name = crash::extra_name(extras_);
        create(name);
        ++extras_;
        next_[name] = 0;
      }
    } else if (r < 93) {
      std::string msg = "c-" + std::to_string(child_seed_) + "-" + std::to_string(commits_++);
      settle_all();
      auto c = ds_.commit(msg);
      acknowledge_all();
      say("C " + std::to_string(c.version) + " " + msg);
    } else if (!durable_ || r < 96) {
      settle_all();
      ds_.flush();
      acknowledge_all();
    }
    if (durable_) {
      while (queue_.size() > window_) settle_front(true);
    } else if (queue_.size() > 400) {  // bounded memory: flush now and then
      settle_all();
      ds_.flush();
      acknowledge_all();
    }
  }

  void append_rows(size_t n) {
    std::vector<row> rows(n);
    pending p;
    p.first = next_["label"];
    for (auto& r : rows) {
      for (auto& t : crash::row_tensors()) {
        uint64_t i = next_[t]++;
        sample s = crash::content(seed_, t, i);
        p.lines.push_back(ack_line(t, i, s));
        r.emplace_back(t, std::move(s));
      }
    }
    p.f = n == 1 ? ds_.append_row(std::move(rows[0])) : ds_.append_rows(std::move(rows));
    queue_.push_back(std::move(p));
  }

  void append_solo(const std::string& t, size_t n) {
    std::vector<sample> batch;
    pending p;
    p.first = next_[t];
    for (size_t k = 0; k < n; ++k) {
      uint64_t i = next_[t]++;
      sample s = crash::content(seed_, t, i);
      p.lines.push_back(ack_line(t, i, s));
      batch.push_back(std::move(s));
    }
    p.f = n == 1 ? ds_.append(t, std::move(batch[0])) : ds_.append_batch(t, std::move(batch));
    queue_.push_back(std::move(p));
  }

  static std::string ack_line(const std::string& t, uint64_t i, const sample& s) {
    return "A " + t + " " + std::to_string(i) + " " + std::to_string(crash::content_hash(s));
  }

  // Waits for the oldest append; durable mode acknowledges it now, buffered
  // mode keeps it for the next flush or commit.
  void settle_front(bool ack) {
    pending p = std::move(queue_.front());
    queue_.pop_front();
    uint64_t got = p.f.get();
    if (got != p.first) {
      say("E index " + std::to_string(got) + " where " + std::to_string(p.first) + " was due (" +
          p.lines.front() + ")");
      std::_Exit(1);
    }
    if (ack) {
      for (auto& l : p.lines) say(l);
    } else {
      for (auto& l : p.lines) applied_.push_back(std::move(l));
    }
  }
  void settle_all() {
    while (!queue_.empty()) settle_front(durable_);
  }
  // A flush or commit returned: whatever was applied before it is durable.
  void acknowledge_all() {
    for (auto& l : applied_) say(l);
    applied_.clear();
  }

  dataset ds_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  uint64_t child_seed_;
  bool durable_;
  size_t window_ = 1;
  int extras_ = 0;
  int commits_ = 0;
  std::map<std::string, uint64_t> next_;
  std::deque<pending> queue_;
  std::vector<std::string> applied_;
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
    writer(ds, seed, child_seed, mode == "durable").run();
  } catch (const std::exception& e) {
    say(std::string("E seed ") + argv[2] + " child seed " + argv[3] + ": " + e.what());
    return 1;
  }
}
