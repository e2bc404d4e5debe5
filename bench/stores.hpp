#pragma once
// The stores a run can measure: serialake (the public handle), core (the store
// behind one mutex), naive (a mutex and write() per sample), ideal (one writer
// thread, one write() per batch, group fdatasync), and the peers (peers.hpp).

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
};

/// What a run wrote, reopened after its store was closed: --verify's view.
class bench_reader {
 public:
  virtual ~bench_reader() = default;
  /// Samples the store holds.
  virtual uint64_t count() = 0;
  /// Sample `index`'s bytes; throws std::runtime_error naming it if it is missing.
  virtual std::string read(uint64_t index) = 0;
};

/// Creates `c.store` in the fresh directory `dir`; throws std::invalid_argument
/// for an unknown name.
std::unique_ptr<bench_store> make_store(const config& c, const std::string& dir);

/// Reopens what `c.store` wrote in `dir`, after that store was destroyed; throws
/// std::invalid_argument for ideal and naive, which keep no samples to read back.
std::unique_ptr<bench_reader> open_reader(const config& c, const std::string& dir);

/// The store names make_store knows, comma-separated (for help and errors).
extern const char* const store_names;

}  // namespace serialake::bench
