#pragma once
// A dataset handle whose dataset is not a local dataset actor: one served
// elsewhere, reached through a URI (serialake://host:port/NAME). The handle
// stays the same: appends still go into the handle's ingest_queue (so
// append_future, then() and backpressure are one mechanism); the backend
// drains that queue instead of a dataset actor, and answers the handle's other
// calls. Backends are registered per URI scheme by the library that implements
// them (serialake_remote: enable_remote()), so this library links none of
// their dependencies.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/ingest_queue.hpp"
#include "serialake/future.hpp"
#include "serialake/options.hpp"
#include "serialake/types.hpp"

namespace serialake::detail {

/// The calls of a dataset handle that a backend answers. Thread-safe.
class dataset_backend {
 public:
  virtual ~dataset_backend() = default;
  /// dataset::create_tensor.
  virtual void create_tensor(const tensor_spec& spec) = 0;
  /// Commits everything appended before the call, as version `message` ("":
  /// unnamed, as flush).
  virtual future<commit_info> commit(const std::string& message) = 0;
  /// dataset::log.
  virtual std::vector<commit_info> log(bool all) = 0;
  /// dataset::tensors.
  virtual std::vector<tensor_spec> tensors() = 0;
  /// Closes the queue (later appends fail with errc::closed), completes every
  /// append taken from it, commits, and stops. Throws what went wrong. Called once.
  virtual void close() = 0;
};

/// What a backend gets from engine::open besides the URI and the options.
struct backend_context {
  /// The handle's append queue: the backend drains it (set_waker, take_all,
  /// release) and completes its ops (complete_op, ingest_queue.hpp).
  std::shared_ptr<ingest_queue> queue;
  /// Runs continuations of completed appends (append_future::then), in order.
  std::function<void(std::vector<std::function<void()>>)> post_all;
  /// Where continuations of the backend's futures run.
  std::shared_ptr<executor> runner;
};

/// Opens the dataset at `uri` (creating it if opts.create); throws its errors.
using backend_factory = std::function<std::unique_ptr<dataset_backend>(
    const std::string& uri, const dataset_options& opts, backend_context ctx)>;

/// Makes engine::open hand URIs starting with `scheme` (e.g. "serialake://") to
/// `make`. Thread-safe; a later registration of a scheme replaces the earlier.
void register_backend(const std::string& scheme, backend_factory make);

/// The factory registered for the scheme `uri` starts with, or null.
backend_factory backend_for(const std::string& uri);

}  // namespace serialake::detail
