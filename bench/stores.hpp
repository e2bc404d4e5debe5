#pragma once
// The stores a run can measure: serialake (the public handle), core (the store
// behind one mutex), naive (a mutex and write() per sample) and ideal (one writer
// thread, one write() per batch, group fdatasync).

#include <memory>
#include <string>

#include "bench/workload.hpp"

namespace serialake::bench {

/// A store under test. append() is called from many producer threads at once.
class bench_store {
 public:
  virtual ~bench_store() = default;
  /// Appends one sample; returns when the mode says it is done (durable: on disk).
  /// Returns its global index where the store knows it (verify needs it).
  virtual uint64_t append(int producer, const char* data, size_t size) = 0;
  /// After the producers returned: make everything durable.
  virtual void finish() = 0;
  /// Commits or syncs issued (fsync groups).
  virtual uint64_t batches() = 0;
  /// Path of the dataset to verify, empty for the baselines.
  virtual std::string dataset_path() const { return {}; }
};

/// Creates `c.store` in the fresh directory `dir`; throws std::invalid_argument
/// for an unknown name.
std::unique_ptr<bench_store> make_store(const config& c, const std::string& dir);

}  // namespace serialake::bench
