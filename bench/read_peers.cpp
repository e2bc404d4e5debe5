// The read bench's peers: LMDB and RocksDB holding the same records as the
// serialake dataset, for point reads. Each is loaded as fast as it allows
// (LMDB: appends in key order without sync; RocksDB: sorted SST files
// ingested, no WAL, no compaction), since loading is not what is measured.
//
// Keys: record i is stored under its index as 8 bytes big-endian, so key order
// is index order; values are fill_sample(i, size).

#include <lmdb.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <sys/stat.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "bench/read_bench.hpp"

namespace serialake::bench {
namespace {

void key_of(uint64_t i, char out[8]) {
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>(i >> (56 - 8 * b));
}

void lmdb_check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

class lmdb_reader final : public point_reader {
 public:
  lmdb_reader(MDB_env* env, MDB_dbi dbi) : dbi_(dbi) {
    lmdb_check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_), "txn_begin");
  }
  ~lmdb_reader() override { mdb_txn_abort(txn_); }
  size_t get(uint64_t i, char* buf, size_t capacity) override {
    char k[8];
    key_of(i, k);
    MDB_val key{8, k}, val;
    lmdb_check(mdb_get(txn_, dbi_, &key, &val), "get");
    if (val.mv_size > capacity) throw std::runtime_error("lmdb: value larger than the buffer");
    std::memcpy(buf, val.mv_data, val.mv_size);  // into the caller's memory, as read_into
    return val.mv_size;
  }

 private:
  MDB_txn* txn_ = nullptr;
  MDB_dbi dbi_;
};

class lmdb_store final : public point_store {
 public:
  lmdb_store(const std::string& dir, uint64_t n, size_t size) {
    ::mkdir(dir.c_str(), 0755);
    lmdb_check(mdb_env_create(&env_), "env_create");
    // Room for the records, their page and node overhead, and slack.
    lmdb_check(mdb_env_set_mapsize(env_, static_cast<size_t>(n * (size + 64) * 2 + (64 << 20))), "set_mapsize");
    lmdb_check(mdb_env_open(env_, dir.c_str(), MDB_NOSYNC | MDB_NOTLS, 0644), "env_open");
    MDB_txn* txn;
    lmdb_check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    lmdb_check(mdb_dbi_open(txn, nullptr, 0, &dbi_), "dbi_open");
    std::vector<char> v(size);
    for (uint64_t i = 0; i < n; ++i) {
      char k[8];
      key_of(i, k);
      fill_sample(i, v.data(), size);
      MDB_val key{8, k}, val{size, v.data()};
      lmdb_check(mdb_put(txn, dbi_, &key, &val, MDB_APPEND), "put");
    }
    lmdb_check(mdb_txn_commit(txn), "commit");
  }
  ~lmdb_store() override { mdb_env_close(env_); }
  std::unique_ptr<point_reader> reader() override { return std::make_unique<lmdb_reader>(env_, dbi_); }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

void rocks_check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string("rocksdb: ") + what + ": " + s.ToString());
}

class rocksdb_reader final : public point_reader {
 public:
  explicit rocksdb_reader(rocksdb::DB* db) : db_(db) {}
  size_t get(uint64_t i, char* buf, size_t capacity) override {
    char k[8];
    key_of(i, k);
    value_.Reset();
    rocks_check(db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), rocksdb::Slice(k, 8), &value_), "get");
    if (value_.size() > capacity) throw std::runtime_error("rocksdb: value larger than the buffer");
    std::memcpy(buf, value_.data(), value_.size());
    return value_.size();
  }

 private:
  rocksdb::DB* db_;
  rocksdb::PinnableSlice value_;  // reused: pins the block instead of copying
};

class rocksdb_store final : public point_store {
 public:
  rocksdb_store(const std::string& dir, uint64_t n, size_t size) {
    // Point-read tuning as a user would set it: no compression (the values are
    // random), a Bloom filter, and a block cache of 1 GiB.
    rocksdb::Options o;
    o.create_if_missing = true;
    o.compression = rocksdb::kNoCompression;
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.block_cache = rocksdb::NewLRUCache(1ull << 30);
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    rocksdb::DB* db;
    rocks_check(rocksdb::DB::Open(o, dir, &db), "open");
    db_.reset(db);
    // Sorted keys straight into SST files of ~256 MiB, then ingested.
    std::vector<std::string> ssts;
    std::vector<char> v(size);
    const uint64_t per_file = std::max<uint64_t>(1, (256ull << 20) / size);
    for (uint64_t first = 0; first < n; first += per_file) {
      rocksdb::SstFileWriter w(rocksdb::EnvOptions(), o);
      ssts.push_back(dir + "/load-" + std::to_string(ssts.size()) + ".sst");
      rocks_check(w.Open(ssts.back()), "sst open");
      for (uint64_t i = first; i < std::min(n, first + per_file); ++i) {
        char k[8];
        key_of(i, k);
        fill_sample(i, v.data(), size);
        rocks_check(w.Put(rocksdb::Slice(k, 8), rocksdb::Slice(v.data(), size)), "sst put");
      }
      rocks_check(w.Finish(), "sst finish");
    }
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;
    rocks_check(db_->IngestExternalFile(ssts, io), "ingest");
  }
  std::unique_ptr<point_reader> reader() override { return std::make_unique<rocksdb_reader>(db_.get()); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<point_store> load_lmdb(const std::string& dir, uint64_t n, size_t size) {
  return std::make_unique<lmdb_store>(dir, n, size);
}

std::unique_ptr<point_store> load_rocksdb(const std::string& dir, uint64_t n, size_t size) {
  return std::make_unique<rocksdb_store>(dir, n, size);
}

}  // namespace serialake::bench
