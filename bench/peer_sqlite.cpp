// The SQLite peer (peers.hpp): WAL journal, one INSERT per append.

#include <sqlite3.h>

#include <mutex>
#include <stdexcept>

#include "bench/peers.hpp"

namespace serialake::bench {
namespace {

std::string db_file(const std::string& dir) { return dir + "/sqlite.db"; }

// One connection; SQLite's own mutex is off (NOMUTEX): callers serialize.
struct connection {
  sqlite3* db = nullptr;
  connection(const std::string& path, int flags) {
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close(db);
      throw std::runtime_error("sqlite: open " + path + ": " + why);
    }
  }
  ~connection() { sqlite3_close(db); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  void check(int rc, const char* what) const {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
      throw std::runtime_error(std::string("sqlite: ") + what + ": " + sqlite3_errmsg(db));
  }
  void exec(const char* sql) const { check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql); }
  sqlite3_stmt* prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), sql);
    return s;
  }
};

class sqlite_store : public bench_store {
 public:
  sqlite_store(const config& c, const std::string& dir)
    : durable_(c.durable), conn_(db_file(dir), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    conn_.exec("PRAGMA journal_mode=WAL");
    conn_.exec(c.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    conn_.exec("CREATE TABLE samples(k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    insert_ = conn_.prepare("INSERT INTO samples(k, v) VALUES(?, ?)");
  }
  ~sqlite_store() override { sqlite3_finalize(insert_); }
  uint64_t append(int, const char* data, size_t size) override {
    std::lock_guard<std::mutex> g(mtx_);
    uint64_t idx = next_++;
    sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(idx));
    sqlite3_bind_blob64(insert_, 2, data, size, SQLITE_STATIC);
    int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    conn_.check(rc, "insert");
    if (durable_) ++commits_;  // autocommit: one transaction, one WAL sync
    return idx;
  }
  void finish() override {
    std::lock_guard<std::mutex> g(mtx_);
    // With synchronous=FULL a checkpoint syncs the WAL, copies it into the
    // database file and syncs that: everything written so far is durable.
    conn_.exec("PRAGMA synchronous=FULL");
    conn_.exec("PRAGMA wal_checkpoint(FULL)");
    if (!durable_) ++commits_;
  }
  uint64_t batches() override { return commits_; }

 private:
  const bool durable_;
  connection conn_;
  sqlite3_stmt* insert_ = nullptr;
  std::mutex mtx_;
  uint64_t next_ = 0, commits_ = 0;  // guarded by mtx_
};

class sqlite_reader : public bench_reader {
 public:
  explicit sqlite_reader(const std::string& dir)
    : conn_(db_file(dir), SQLITE_OPEN_READONLY),
      count_(conn_.prepare("SELECT count(*) FROM samples")),
      get_(conn_.prepare("SELECT v FROM samples WHERE k = ?")) {}
  ~sqlite_reader() override {
    sqlite3_finalize(count_);
    sqlite3_finalize(get_);
  }
  uint64_t count() override {
    conn_.check(sqlite3_step(count_), "count");
    uint64_t n = sqlite3_column_int64(count_, 0);
    sqlite3_reset(count_);
    return n;
  }
  std::string read(uint64_t index) override {
    sqlite3_bind_int64(get_, 1, static_cast<sqlite3_int64>(index));
    int rc = sqlite3_step(get_);
    std::string v;
    if (rc == SQLITE_ROW)
      v.assign(static_cast<const char*>(sqlite3_column_blob(get_, 0)), sqlite3_column_bytes(get_, 0));
    sqlite3_reset(get_);
    if (rc != SQLITE_ROW) throw std::runtime_error("sqlite: sample " + std::to_string(index) + " is missing");
    return v;
  }

 private:
  connection conn_;
  sqlite3_stmt* count_;
  sqlite3_stmt* get_;
};

}  // namespace

std::unique_ptr<bench_store> make_sqlite_store(const config& c, const std::string& dir) {
  return std::make_unique<sqlite_store>(c, dir);
}

std::unique_ptr<bench_reader> open_sqlite_reader(const std::string& dir) {
  return std::make_unique<sqlite_reader>(dir);
}

}  // namespace serialake::bench
