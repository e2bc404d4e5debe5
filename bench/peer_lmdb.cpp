// The LMDB peer (peers.hpp): one write transaction per append.

#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "bench/peers.hpp"

namespace serialake::bench {
namespace {

std::string env_dir(const std::string& dir) { return dir + "/lmdb"; }

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

// An environment and its main database, opened in `path`.
struct env {
  MDB_env* e = nullptr;
  MDB_dbi dbi = 0;
  env(const std::string& path, unsigned flags, size_t map_bytes) {
    check(mdb_env_create(&e), "create");
    try {
      check(mdb_env_set_mapsize(e, map_bytes), "map size");
      check(mdb_env_open(e, path.c_str(), flags, 0644), "open");
      MDB_txn* t = nullptr;
      check(mdb_txn_begin(e, nullptr, flags & MDB_RDONLY, &t), "begin");
      int rc = mdb_dbi_open(t, nullptr, 0, &dbi);
      if (rc != MDB_SUCCESS) mdb_txn_abort(t);
      check(rc, "open database");
      check(mdb_txn_commit(t), "commit");
    } catch (...) {
      mdb_env_close(e);
      throw;
    }
  }
  ~env() { mdb_env_close(e); }
  env(const env&) = delete;
  env& operator=(const env&) = delete;
};

// Room for the run: an overflow value takes whole 4 KiB pages, and copy-on-write
// needs free pages besides. The map is sparse, so a generous size costs nothing.
size_t map_bytes(const config& c) {
  uint64_t total = c.total ? c.total : default_total(c.size);
  uint64_t pages_per_sample = (c.size + 64) / 4096 + 1;
  return std::max<uint64_t>(1ull << 30, 4 * total * pages_per_sample * 4096);
}

class lmdb_store : public bench_store {
 public:
  lmdb_store(const config& c, const std::string& dir)
    : durable_(c.durable), env_(make_dir(env_dir(dir)), c.durable ? 0 : MDB_NOSYNC, map_bytes(c)) {}
  uint64_t append(int, const char* data, size_t size) override {
    MDB_txn* t = nullptr;
    check(mdb_txn_begin(env_.e, nullptr, 0, &t), "begin");  // waits for LMDB's writer lock
    // Under the writer lock: the index is the order LMDB serializes appends in,
    // so keys only grow and MDB_APPEND holds.
    uint64_t idx = next_++;
    auto k = peer_key(idx);
    MDB_val key{k.size(), k.data()}, val{size, const_cast<char*>(data)};
    int rc = mdb_put(t, env_.dbi, &key, &val, MDB_APPEND);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(t);
      check(rc, "put");
    }
    check(mdb_txn_commit(t), "commit");  // durable: syncs data, then the meta page
    if (durable_) ++commits_;
    return idx;
  }
  void finish() override {
    check(mdb_env_sync(env_.e, 1), "final sync");
    if (!durable_) ++commits_;
  }
  uint64_t batches() override { return commits_; }

 private:
  static const std::string& make_dir(const std::string& d) {
    if (::mkdir(d.c_str(), 0755) != 0) throw std::runtime_error("lmdb: cannot create " + d);
    return d;
  }
  const bool durable_;
  env env_;
  uint64_t next_ = 0;     // guarded by LMDB's writer lock
  uint64_t commits_ = 0;  // likewise
};

class lmdb_reader : public bench_reader {
 public:
  explicit lmdb_reader(const std::string& dir) : env_(env_dir(dir), MDB_RDONLY, 0) {
    check(mdb_txn_begin(env_.e, nullptr, MDB_RDONLY, &t_), "begin read");
  }
  ~lmdb_reader() override { mdb_txn_abort(t_); }
  uint64_t count() override {
    MDB_stat st{};
    check(mdb_stat(t_, env_.dbi, &st), "stat");
    return st.ms_entries;
  }
  std::string read(uint64_t index) override {
    auto k = peer_key(index);
    MDB_val key{k.size(), k.data()}, val{};
    int rc = mdb_get(t_, env_.dbi, &key, &val);
    if (rc != MDB_SUCCESS)
      throw std::runtime_error("lmdb: sample " + std::to_string(index) + ": " + mdb_strerror(rc));
    return std::string(static_cast<const char*>(val.mv_data), val.mv_size);
  }

 private:
  env env_;
  MDB_txn* t_ = nullptr;
};

}  // namespace

std::unique_ptr<bench_store> make_lmdb_store(const config& c, const std::string& dir) {
  return std::make_unique<lmdb_store>(c, dir);
}

std::unique_ptr<bench_reader> open_lmdb_reader(const std::string& dir) {
  return std::make_unique<lmdb_reader>(dir);
}

}  // namespace serialake::bench
