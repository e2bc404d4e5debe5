#include "bench/stores.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench/peers.hpp"
#include "serialake/dataset.hpp"
#include "core/file_io.hpp"
#include "core/store.hpp"

namespace serialake::bench {
namespace {

// serialake and core keep their dataset here, inside the run's directory.
std::string dataset_dir(const std::string& dir) { return dir + "/ds"; }

// -- serialake: the public handle ------------------------------------------------
class serialake_store : public bench_store {
 public:
  serialake_store(const config& c, const std::string& dir) : cfg_(c), path_(dataset_dir(dir)) {
    dataset_options o;
    o.create = true;
    o.policy.mode = c.durable ? durability::durable : durability::buffered;
    o.queue_bytes = c.queue_mb << 20;
    ds_ = eng_.open(path_, o);
    ds_.create_tensor({"x", dtype::bytes, "generic", {}});
  }
  uint64_t append(int, const char* data, size_t size) override {
    const uint64_t dim = size;
    auto f = ds_.append("x", sample_view{dtype::bytes, &dim, 1, data, size});
    return cfg_.durable || cfg_.verify ? f.get() : 0;
  }
  void finish() override { ds_.flush(); }
  uint64_t batches() override { return ds_.log(true).size(); }

 private:
  config cfg_;
  std::string path_;
  engine eng_;
  dataset ds_;
};

// -- core: the single-threaded store behind one mutex ---------------------------
class core_store : public bench_store {
 public:
  core_store(const config& c, const std::string& dir) : cfg_(c), path_(dataset_dir(dir)) {
    st_ = store::create(path_);
    st_->create_tensor({"x", dtype::bytes, "generic", {}});
  }
  uint64_t append(int, const char* data, size_t size) override {
    sample s{dtype::bytes, shape_t{size}, std::string(data, size)};
    std::lock_guard<std::mutex> g(mtx_);
    uint64_t idx = st_->append("x", s);
    if (cfg_.durable) st_->commit();
    return idx;
  }
  void finish() override { st_->commit(); }
  uint64_t batches() override { return st_->log(true).size(); }

 private:
  config cfg_;
  std::string path_;
  std::mutex mtx_;
  std::unique_ptr<store> st_;
};

// -- naive: every producer locks one mutex and write()s (and syncs) its sample ---
class naive_store : public bench_store {
 public:
  naive_store(const config& c, const std::string& dir)
    : cfg_(c), f_(io::file::open(dir + "/naive.dat", O_WRONLY | O_CREAT | O_TRUNC)) {}
  uint64_t append(int, const char* data, size_t size) override {
    std::lock_guard<std::mutex> g(mtx_);
    f_.write_all(data, size);
    if (cfg_.durable) {
      f_.sync();
      ++syncs_;
    }
    return n_++;
  }
  void finish() override {
    f_.sync();
    ++syncs_;
  }
  uint64_t batches() override { return syncs_; }

 private:
  config cfg_;
  std::mutex mtx_;
  io::file f_;
  uint64_t n_ = 0, syncs_ = 0;
};

// -- ideal: producers copy into a shared buffer; one writer thread issues one
// write() per batch and, durable, one fdatasync per batch, then wakes them. ------
class ideal_store : public bench_store {
 public:
  ideal_store(const config& c, const std::string& dir)
    : cfg_(c), f_(io::file::open(dir + "/ideal.dat", O_WRONLY | O_CREAT | O_TRUNC)) {
    buf_.reserve(cap_);
    writer_ = std::thread([this] { run(); });
  }
  ~ideal_store() override {
    {
      std::lock_guard<std::mutex> g(mtx_);
      stop_ = true;
    }
    writer_cv_.notify_one();
    writer_.join();
  }
  uint64_t append(int, const char* data, size_t size) override {
    std::unique_lock<std::mutex> lk(mtx_);
    room_cv_.wait(lk, [&] { return buf_.size() + size <= cap_ || buf_.empty(); });
    buf_.insert(buf_.end(), data, data + size);
    uint64_t mine = ++appended_;
    // Buffered: wake the writer only for a worthwhile write; durable: at once.
    if (cfg_.durable || buf_.size() >= cap_ / 2) writer_cv_.notify_one();
    if (cfg_.durable) done_cv_.wait(lk, [&] { return durable_ >= mine; });
    return mine - 1;
  }
  void finish() override {
    std::unique_lock<std::mutex> lk(mtx_);
    flush_all_ = true;
    writer_cv_.notify_one();
    done_cv_.wait(lk, [&] { return written_ == appended_ && buf_.empty(); });
    lk.unlock();
    f_.sync();
    ++syncs_;
  }
  uint64_t batches() override { return syncs_; }

 private:
  void run() {
    std::vector<char> out;
    out.reserve(cap_);
    std::unique_lock<std::mutex> lk(mtx_);
    for (;;) {
      writer_cv_.wait(lk, [&] {
        return stop_ || (!buf_.empty() && (cfg_.durable || flush_all_ || buf_.size() >= cap_ / 2));
      });
      if (buf_.empty() && stop_) return;
      out.swap(buf_);
      uint64_t upto = appended_;
      lk.unlock();
      room_cv_.notify_all();
      f_.write_all(out.data(), out.size());
      if (cfg_.durable) f_.sync();
      out.clear();
      lk.lock();
      if (cfg_.durable) ++syncs_;
      written_ = durable_ = upto;
      done_cv_.notify_all();
    }
  }

  config cfg_;
  io::file f_;
  const size_t cap_ = 2 << 20;  // small enough to stay in cache: bigger buffers measured slower
  std::mutex mtx_;
  std::condition_variable writer_cv_, room_cv_, done_cv_;
  std::vector<char> buf_;
  uint64_t appended_ = 0, written_ = 0, durable_ = 0, syncs_ = 0;
  bool stop_ = false, flush_all_ = false;
  std::thread writer_;
};

// -- reading back serialake's (and core's) dataset ----------------------------
class dataset_reader : public bench_reader {
 public:
  explicit dataset_reader(const std::string& path) {
    open_options oo;
    oo.read_only = true;
    snap_ = store::open(path, oo)->snapshot();
  }
  uint64_t count() override { return snap_->length("x"); }
  std::string read(uint64_t index) override { return snap_->read("x", index).data; }

 private:
  std::shared_ptr<const snapshot> snap_;
};

}  // namespace

const char* const store_names = "serialake, core, ideal, naive, leveldb, rocksdb, lmdb, sqlite";

std::unique_ptr<bench_store> make_store(const config& c, const std::string& dir) {
  if (c.store == "serialake") return std::make_unique<serialake_store>(c, dir);
  if (c.store == "core") return std::make_unique<core_store>(c, dir);
  if (c.store == "naive") return std::make_unique<naive_store>(c, dir);
  if (c.store == "ideal") return std::make_unique<ideal_store>(c, dir);
  if (c.store == "leveldb") return make_leveldb_store(c, dir);
  if (c.store == "rocksdb") return make_rocksdb_store(c, dir);
  if (c.store == "lmdb") return make_lmdb_store(c, dir);
  if (c.store == "sqlite") return make_sqlite_store(c, dir);
  throw std::invalid_argument("unknown store '" + c.store + "' (" + store_names + ")");
}

std::unique_ptr<bench_reader> open_reader(const config& c, const std::string& dir) {
  if (c.store == "serialake" || c.store == "core") return std::make_unique<dataset_reader>(dataset_dir(dir));
  if (c.store == "leveldb") return open_leveldb_reader(dir);
  if (c.store == "rocksdb") return open_rocksdb_reader(dir);
  if (c.store == "lmdb") return open_lmdb_reader(dir);
  if (c.store == "sqlite") return open_sqlite_reader(dir);
  throw std::invalid_argument("verify: store '" + c.store + "' keeps no samples to read back");
}

}  // namespace serialake::bench
