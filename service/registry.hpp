#pragma once
// The datasets a server has open: one engine, one handle per dataset (and so one
// dataset actor linearizing every client's writes, and one lock), opened on
// first use and held until the server stops.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serialake/dataset.hpp"
#include "service/intake.hpp"

namespace serialake::service {

/// The directory of dataset `name` under `root` (a canonical path). Throws
/// invalid_argument if `name` is empty, absolute, has an empty, '.' or '..'
/// component, a control character, or if its existing part leads out of `root`
/// through a symlink.
std::string resolve_name(const std::string& root, const std::string& name);

/// See above. Thread-safe.
class registry {
 public:
  /// Serves the datasets under `root` (must exist), locked by `locking` (the
  /// lock file if null).
  registry(std::string root, std::shared_ptr<lock_backend> locking);
  ~registry();

  /// The open dataset `name`, opening it if needed (not_found if there is none).
  dataset get(const std::string& name) { return writer(name)->target(); }
  /// get(), as the way Append streams write into it.
  std::shared_ptr<intake> writer(const std::string& name);
  /// Creates dataset `name` with `specs` (already_exists if there is one).
  void create(const std::string& name, const std::vector<tensor_spec>& specs);
  /// Commits and closes every dataset, releasing their locks; later calls fail
  /// with errc::closed. Logs (does not throw) what fails.
  void close_all();

 private:
  dataset_options options() const;
  std::string root_;
  std::shared_ptr<lock_backend> locking_;
  std::unique_ptr<engine> eng_;
  std::mutex mtx_;
  bool closed_ = false;
  std::map<std::string, std::shared_ptr<intake>> open_;  // by directory
};

}  // namespace serialake::service
