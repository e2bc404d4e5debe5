#pragma once
// The stores users would pick instead of serialake, driven through the workload of
// ../shared/WORKLOAD.md: LevelDB, RocksDB, LMDB and SQLite (bench-only
// dependencies: the library and the CLI never link them). One file per peer.
//
// Key format, shared by every peer: one key per sample, its global index as 8
// bytes big-endian (so keys sort in index order); the value is the sample's bytes.
// SQLite keeps the index as its INTEGER PRIMARY KEY (the rowid), its native key.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/stores.hpp"

namespace serialake::bench {

/// The 8-byte big-endian key of sample `index`.
inline std::array<char, 8> peer_key(uint64_t index) {
  std::array<char, 8> k{};
  for (int i = 7; i >= 0; --i, index >>= 8) k[i] = static_cast<char>(index & 0xff);
  return k;
}

/// LevelDB: every producer calls Put (sync = durable); LevelDB's writer queue
/// group-commits concurrent synced writes. Default options.
std::unique_ptr<bench_store> make_leveldb_store(const config& c, const std::string& dir);
/// Reopens what make_leveldb_store wrote in `dir`.
std::unique_ptr<bench_reader> open_leveldb_reader(const std::string& dir);

/// RocksDB: as LevelDB, through RocksDB's write thread (group commit). Default options.
std::unique_ptr<bench_store> make_rocksdb_store(const config& c, const std::string& dir);
/// Reopens what make_rocksdb_store wrote in `dir`.
std::unique_ptr<bench_reader> open_rocksdb_reader(const std::string& dir);

/// LMDB: one write transaction per append (LMDB serializes writers); buffered
/// runs open the environment with MDB_NOSYNC and sync once at the end.
std::unique_ptr<bench_store> make_lmdb_store(const config& c, const std::string& dir);
/// Reopens what make_lmdb_store wrote in `dir`.
std::unique_ptr<bench_reader> open_lmdb_reader(const std::string& dir);

/// SQLite: WAL journal, one connection behind a mutex, one INSERT (its own
/// transaction) per append; synchronous=FULL when durable, OFF when buffered.
std::unique_ptr<bench_store> make_sqlite_store(const config& c, const std::string& dir);
/// Reopens what make_sqlite_store wrote in `dir`.
std::unique_ptr<bench_reader> open_sqlite_reader(const std::string& dir);

}  // namespace serialake::bench
