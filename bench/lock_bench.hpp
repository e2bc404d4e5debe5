#pragma once
// Pieces of the lock figures (bench/lock_latency.cpp).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "serialake/dataset.hpp"

namespace serialake::bench {

/// Writer options locking with `uri` ("": the file lock), waiting `timeout`,
/// validity (a service's TTL) 1 s, heartbeat 100 ms.
dataset_options lock_options(const std::string& uri, std::chrono::milliseconds timeout);

/// The q-quantile of `v` (0.5: median, 1: max).
double percentile(std::vector<double> v, double q);

/// 8 processes, each writing 1,000 rows to the dataset at `dir` in holds of 100
/// rows (open with the lock, append, flush, close); prints one RESULT line.
int contention(const std::string& dir, const std::string& uri);

/// The service's bare round trips for what acquire+release does, on one
/// connection of the service's own client (Redis: SET key token NX PX + DEL).
class bare_round_trip {
 public:
  explicit bare_round_trip(const std::string& uri);
  ~bare_round_trip();
  /// One acquire's and one release's worth of round trips.
  void once();
  /// What once() does, for the RESULT line ("set_nx_del").
  std::string what() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake::bench
