// The RocksDB peer (peers.hpp): default options, Put from every producer.

#include <rocksdb/db.h>
#include <rocksdb/statistics.h>

#include <atomic>
#include <stdexcept>

#include "bench/peers.hpp"

namespace serialake::bench {
namespace {

std::string db_dir(const std::string& dir) { return dir + "/rocksdb"; }

// `what` stays a literal: check() runs on every append.
void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string("rocksdb: ") + what + ": " + s.ToString());
}

class rocksdb_store : public bench_store {
 public:
  rocksdb_store(const config& c, const std::string& dir) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.error_if_exists = true;
    // Tickers only (no histograms or timers): the count of WAL syncs, i.e. of
    // commit groups, at the cost of a per-core counter increment.
    o.statistics = rocksdb::CreateDBStatistics();
    o.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
    stats_ = o.statistics;
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(o, db_dir(dir), &db), "open");
    db_.reset(db);
    wo_.sync = c.durable;
  }
  uint64_t append(int, const char* data, size_t size) override {
    // The index is taken before the Put: RocksDB's sequence numbers are not
    // returned by Put.
    uint64_t idx = next_.fetch_add(1, std::memory_order_relaxed);
    auto k = peer_key(idx);
    check(db_->Put(wo_, rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(data, size)), "put");
    return idx;
  }
  void finish() override {
    // Syncs the WAL, which holds every write since the last flushed table;
    // RocksDB synced those tables when it wrote them.
    check(db_->FlushWAL(true), "final sync");
  }
  uint64_t batches() override { return stats_->getTickerCount(rocksdb::WAL_FILE_SYNCED); }

 private:
  std::shared_ptr<rocksdb::Statistics> stats_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions wo_;
  std::atomic<uint64_t> next_{0};
};

class rocksdb_reader : public bench_reader {
 public:
  explicit rocksdb_reader(const std::string& dir) {
    rocksdb::Options o;
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::OpenForReadOnly(o, db_dir(dir), &db), "reopen");
    db_.reset(db);
  }
  uint64_t count() override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    check(it->status(), "scan");
    return n;
  }
  std::string read(uint64_t index) override {
    auto k = peer_key(index);
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(k.data(), k.size()), &v);
    if (!s.ok()) throw std::runtime_error("rocksdb: sample " + std::to_string(index) + ": " + s.ToString());
    return v;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<bench_store> make_rocksdb_store(const config& c, const std::string& dir) {
  return std::make_unique<rocksdb_store>(c, dir);
}

std::unique_ptr<bench_reader> open_rocksdb_reader(const std::string& dir) {
  return std::make_unique<rocksdb_reader>(dir);
}

}  // namespace serialake::bench
