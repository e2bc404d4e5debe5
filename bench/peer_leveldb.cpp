// The LevelDB peer (peers.hpp): default options, Put from every producer.

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/write_batch.h>

#include <atomic>

#include "bench/peer_kv.hpp"

namespace serialake::bench {
namespace {

std::string db_dir(const std::string& dir) { return dir + "/leveldb"; }

void check(const leveldb::Status& s, const char* what) { check_kv(s, "leveldb", what); }

// Counts the Sync() calls LevelDB makes on its log files: the run's commit
// groups, which LevelDB itself does not report (RocksDB's WAL_FILE_SYNCED).
class counting_env : public leveldb::EnvWrapper {
 public:
  counting_env() : EnvWrapper(leveldb::Env::Default()) {}
  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override {
    return wrap(f, target()->NewWritableFile(f, r), r);
  }
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override {
    return wrap(f, target()->NewAppendableFile(f, r), r);
  }
  uint64_t syncs() const { return syncs_.load(); }

 private:
  class file : public leveldb::WritableFile {
   public:
    file(leveldb::WritableFile* f, std::atomic<uint64_t>& n) : f_(f), n_(n) {}
    ~file() override { delete f_; }
    leveldb::Status Append(const leveldb::Slice& d) override { return f_->Append(d); }
    leveldb::Status Close() override { return f_->Close(); }
    leveldb::Status Flush() override { return f_->Flush(); }
    leveldb::Status Sync() override {
      n_.fetch_add(1, std::memory_order_relaxed);
      return f_->Sync();
    }

   private:
    leveldb::WritableFile* f_;
    std::atomic<uint64_t>& n_;
  };
  leveldb::Status wrap(const std::string& name, leveldb::Status s, leveldb::WritableFile** r) {
    const std::string log = ".log";
    bool is_log = name.size() > log.size() && name.compare(name.size() - log.size(), log.size(), log) == 0;
    if (s.ok() && is_log) *r = new file(*r, syncs_);
    return s;
  }
  std::atomic<uint64_t> syncs_{0};
};

class leveldb_store : public bench_store {
 public:
  leveldb_store(const config& c, const std::string& dir) {
    leveldb::Options o;
    o.create_if_missing = true;
    o.error_if_exists = true;
    o.env = &env_;
    leveldb::DB* db = nullptr;
    check(leveldb::DB::Open(o, db_dir(dir), &db), "open");
    db_.reset(db);
    wo_.sync = c.durable;
  }
  uint64_t append(int, const char* data, size_t size) override {
    return kv_append<leveldb::Slice>(*db_, wo_, next_, "leveldb", data, size);
  }
  void finish() override {
    // A synced empty batch syncs the log, which holds every write since the last
    // table; LevelDB synced those tables when it wrote them.
    leveldb::WriteOptions sync;
    sync.sync = true;
    leveldb::WriteBatch none;
    check(db_->Write(sync, &none), "final sync");
  }
  uint64_t batches() override { return env_.syncs(); }

 private:
  counting_env env_;  // outlives db_
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteOptions wo_;
  std::atomic<uint64_t> next_{0};
};

}  // namespace

std::unique_ptr<bench_store> make_leveldb_store(const config& c, const std::string& dir) {
  return std::make_unique<leveldb_store>(c, dir);
}

std::unique_ptr<bench_reader> open_leveldb_reader(const std::string& dir) {
  leveldb::DB* db = nullptr;
  check(leveldb::DB::Open(leveldb::Options(), db_dir(dir), &db), "reopen");
  return std::make_unique<kv_reader<leveldb::DB, leveldb::ReadOptions, leveldb::Slice>>(
      std::unique_ptr<leveldb::DB>(db), "leveldb");
}

}  // namespace serialake::bench
