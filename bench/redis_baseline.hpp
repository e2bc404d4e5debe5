#pragma once
// The Redis baseline of serialake-bench --remote (remote_bench.cpp): the same
// payloads appended to a list by RPUSH, pipelined from several hiredis
// connections, to a redis-server this process starts (tests/locks/redis_server.hpp)
// on a free port, with its append-only file in a temporary directory.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace serialake::bench {

/// One redis-server with the append-only file on, for every cell of a run.
class redis_baseline {
 public:
  redis_baseline();
  ~redis_baseline();
  /// RPUSHes `total` payloads of `size` bytes to a fresh list from `connections`
  /// connections, each keeping `window` commands in flight; with `durable`
  /// under appendfsync always (a reply comes once its write is fsynced), else
  /// everysec. Returns appends per second.
  double rpush_rate(bool durable, size_t size, uint64_t total, int connections = 16, int window = 64);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake::bench
