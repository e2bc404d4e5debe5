// The RocksDB peer (peers.hpp): default options, Put from every producer.

#include <rocksdb/db.h>
#include <rocksdb/statistics.h>

#include <atomic>

#include "bench/peer_kv.hpp"

namespace serialake::bench {
namespace {

std::string db_dir(const std::string& dir) { return dir + "/rocksdb"; }

void check(const rocksdb::Status& s, const char* what) { check_kv(s, "rocksdb", what); }

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
    return kv_append<rocksdb::Slice>(*db_, wo_, next_, "rocksdb", data, size);
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

}  // namespace

std::unique_ptr<bench_store> make_rocksdb_store(const config& c, const std::string& dir) {
  return std::make_unique<rocksdb_store>(c, dir);
}

std::unique_ptr<bench_reader> open_rocksdb_reader(const std::string& dir) {
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), db_dir(dir), &db), "reopen");
  return std::make_unique<kv_reader<rocksdb::DB, rocksdb::ReadOptions, rocksdb::Slice>>(
      std::unique_ptr<rocksdb::DB>(db), "rocksdb");
}

}  // namespace serialake::bench
