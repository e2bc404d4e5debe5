#pragma once
// The module's engine and the calls that need one: open, lock and unlock.

#include <memory>
#include <optional>
#include <string>

#include "serialake/dataset.hpp"

namespace serialake::python {

/// The process's engine, made on first use. A forked child gets a new one: the
/// parent's engine threads are not in the child (an inherited handle fails with
/// errc::closed, and the parent's engine object is leaked, never destroyed).
serialake::engine& process_engine();
/// Closes every dataset of the process's engine (at interpreter exit).
void shutdown_engine();

/// The lock backend named by `uri` (redis://, zk://, etcd://: lock_backend_for;
/// the same object for the same URI), or null (the default: the lock file) if none.
std::shared_ptr<lock_backend> backend_for(const std::optional<std::string>& uri);

}  // namespace serialake::python
