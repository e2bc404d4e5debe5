#pragma once
// What the LevelDB and RocksDB peers share: RocksDB began as a fork of LevelDB
// and kept its API (DB, Slice, Status, Put, Get, iterators), so appending under
// the peers' key format and reading back are written once, for either.

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "bench/peers.hpp"

namespace serialake::bench {

/// Throws, naming the peer and what failed, unless `s` is ok. `what` stays a
/// literal: this runs on every append.
template <class Status>
void check_kv(const Status& s, const char* peer, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(peer) + ": " + what + ": " + s.ToString());
}

/// Appends one sample with the next index of `next`, taken before the Put:
/// neither store returns the order in which its writer queue serialized
/// concurrent Puts.
template <class Slice, class DB, class WriteOptions>
uint64_t kv_append(DB& db, const WriteOptions& wo, std::atomic<uint64_t>& next, const char* peer,
                   const char* data, size_t size) {
  uint64_t idx = next.fetch_add(1, std::memory_order_relaxed);
  auto k = peer_key(idx);
  check_kv(db.Put(wo, Slice(k.data(), k.size()), Slice(data, size)), peer, "put");
  return idx;
}

/// --verify's view of a reopened LevelDB or RocksDB database.
template <class DB, class ReadOptions, class Slice>
class kv_reader : public bench_reader {
 public:
  kv_reader(std::unique_ptr<DB> db, const char* peer) : db_(std::move(db)), peer_(peer) {}
  uint64_t count() override {
    auto* raw = db_->NewIterator(ReadOptions());
    std::unique_ptr<std::remove_pointer_t<decltype(raw)>> it(raw);
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    check_kv(it->status(), peer_, "scan");
    return n;
  }
  std::string read(uint64_t index) override {
    auto k = peer_key(index);
    std::string v;
    auto s = db_->Get(ReadOptions(), Slice(k.data(), k.size()), &v);
    if (!s.ok())
      throw std::runtime_error(std::string(peer_) + ": sample " + std::to_string(index) + ": " + s.ToString());
    return v;
  }

 private:
  std::unique_ptr<DB> db_;
  const char* peer_;
};

}  // namespace serialake::bench
