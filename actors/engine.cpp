#include <caf/all.hpp>

#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "actors/caf_error.hpp"
#include "actors/dataset_shared.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"

namespace serialake {

// -- engine --------------------------------------------------------------------

struct engine::impl {
  uint64_t forks = detail::fork_generation();
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  // One entry per key (canonical path, and for read-only opens the version).
  struct entry {
    std::weak_ptr<detail::dataset_shared> open;
    // Serializes the opens of this key only: one open waiting for another
    // process's lock, or replaying a long log, must not hold up other paths.
    std::shared_ptr<std::mutex> opening = std::make_shared<std::mutex>();
  };
  std::mutex mtx;  // guards registry; held only to look up or update an entry
  std::map<std::string, entry> registry;
};

caf::actor_system& detail::engine_access::system(engine& e) { return *e.impl_->sys; }

engine::engine(engine_options opts) : impl_(std::make_unique<impl>()) {
  size_t threads = opts.threads ? opts.threads : std::max(2u, std::thread::hardware_concurrency());
  impl_->cfg.set("scheduler.max-threads", static_cast<int>(threads));
  add_caf_error_category(impl_->cfg);
  impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
}

engine::~engine() {
  if (detail::fork_generation() != impl_->forks) {
    impl_.release();  // a forked child: its threads are in the parent (dataset_shared.hpp)
    return;
  }
  std::vector<std::shared_ptr<detail::dataset_shared>> open;
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    for (auto& [key, e] : impl_->registry)
      if (auto s = e.open.lock()) open.push_back(std::move(s));
    impl_->registry.clear();
  }
  for (auto& s : open) s->close(false);
  open.clear();
  impl_->sys.reset();
}

namespace {

std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

// The registry key: writers and the latest read-only view of a path, and each
// pinned version (0 included), are different datasets.
std::string registry_key(const std::string& canon, bool ro, const std::optional<uint64_t>& version) {
  if (!ro) return canon;
  return canon + (version ? "\nversion " + std::to_string(*version) : "\nlatest");
}

// The first option in which `b` differs from `a` (which opened the dataset) and
// that an open dataset cannot change, or nullptr. Read-only datasets take no
// appends and no lock: only the store's tuning applies to them.
const char* conflicting_option(const dataset_options& a, const dataset_options& b, bool ro) {
  auto backend = [](const dataset_options& o) { return o.locking ? o.locking : file_lock_backend(); };
  const std::pair<const char*, bool> same[] = {
      {"tuning.chunk_bytes", a.tuning.chunk_bytes == b.tuning.chunk_bytes},
      {"tuning.write_buffer_bytes", a.tuning.write_buffer_bytes == b.tuning.write_buffer_bytes},
      {"tuning.open_files", a.tuning.open_files == b.tuning.open_files},
      {"tuning.log_wait", a.tuning.log_wait == b.tuning.log_wait},
      {"policy.mode (durable or buffered)", ro || a.policy.mode == b.policy.mode},
      {"policy.commit_bytes", ro || a.policy.commit_bytes == b.policy.commit_bytes},
      {"policy.commit_interval", ro || a.policy.commit_interval == b.policy.commit_interval},
      {"policy.drain_bytes", ro || a.policy.drain_bytes == b.policy.drain_bytes},
      {"policy.drain_delay", ro || a.policy.drain_delay == b.policy.drain_delay},
      {"policy.linger", ro || a.policy.linger == b.policy.linger},
      {"queue_bytes", ro || a.queue_bytes == b.queue_bytes},
      {"queue_timeout", ro || a.queue_timeout == b.queue_timeout},
      {"locking", ro || backend(a) == backend(b)},
      {"lock_heartbeat", ro || a.lock_heartbeat == b.lock_heartbeat},
      {"lock_validity", ro || a.lock_validity == b.lock_validity},
  };
  for (auto& [name, equal] : same)
    if (!equal) return name;
  return nullptr;
}

// A path of the form scheme://...: a dataset served elsewhere (actors/backend.hpp).
bool is_uri(const std::string& path) {
  const size_t sep = path.find("://");
  return sep != std::string::npos && sep > 0 && path.find('/') > sep;
}

std::shared_ptr<detail::dataset_shared> open_remote(caf::actor_system& sys, const std::string& uri,
                                                    const dataset_options& opts, bool ro) {
  detail::backend_factory make = detail::backend_for(uri);
  if (!make)
    throw error(errc::invalid_argument, "no client for the URI " + uri +
                                            " in this program: serialake:// datasets need the library "
                                            "serialake_remote and a call to serialake::enable_remote()");
  auto shared = std::make_shared<detail::dataset_shared>();
  shared->path = uri;
  shared->read_only = ro;
  shared->opts = opts;
  shared->remote = true;
  // Every push to an empty queue wakes the sender (no batching delay: a batch
  // is whatever queued while the previous one was on its way); waiters never
  // spin: the answer is a network round trip away, and the server may need the core.
  shared->queue = std::make_shared<detail::ingest_queue>(opts.queue_bytes, opts.queue_timeout, 0,
                                                         std::chrono::nanoseconds(0));
  shared->sys = &sys;
  shared->runner = std::make_shared<callback_runner>(sys, uri);
  detail::backend_context ctx;
  ctx.queue = shared->queue;
  ctx.post_all = [r = shared->runner](std::vector<std::function<void()>> fns) { r->post_all(std::move(fns)); };
  ctx.runner = shared->runner;
  try {
    shared->backend = make(uri, opts, std::move(ctx));
  } catch (...) {
    shared->runner->close();
    throw;
  }
  return shared;
}

std::shared_ptr<detail::dataset_shared> open_local(caf::actor_system& sys, const std::string& path,
                                                   const std::string& canon, const dataset_options& opts, bool ro) {
  // A writer takes the lock before it reads anything: recovery must not race
  // another writer. The store is opened (re-opened, after a create) under it.
  std::shared_ptr<dataset_lock> lock;
  if (!ro) {
    lock_settings ls;
    ls.timeout = opts.lock_timeout;
    ls.heartbeat = opts.lock_heartbeat;
    ls.validity = opts.lock_validity;
    ls.on_wait = opts.on_lock_wait;
    auto backend = opts.locking ? opts.locking : file_lock_backend();
    lock = backend->acquire(canon, ls);
  }
  open_options oo;
  oo.read_only = ro;
  oo.version = opts.version;
  oo.tuning = opts.tuning;
  if (lock)  // checked before recovery changes a file and before every commit
    oo.fence = [lock] {
      try {
        lock->check();
      } catch (const error&) {
        lock->release();  // the store refuses writes from here on: let others in
        throw;
      }
    };
  std::unique_ptr<store> st = store::open(path, oo);
  if (lock) {
    lock->raise_generation(st->last_lock_generation());
    st->set_lock_generation(lock->generation());
  }
  auto shared = std::make_shared<detail::dataset_shared>();
  shared->path = canon;
  shared->read_only = ro;
  shared->opts = opts;
  // Durable appends are applied at once (their writers wait); buffered ones in
  // batches, never so large that a full queue could be waiting on itself.
  uint64_t batch = opts.policy.mode == durability::durable
                       ? 0
                       : std::min(opts.policy.drain_bytes, opts.queue_bytes / 4);
  shared->queue = std::make_shared<detail::ingest_queue>(opts.queue_bytes, opts.queue_timeout, batch);
  shared->sys = &sys;
  shared->runner = std::make_shared<callback_runner>(sys, canon);
  dataset_init init;
  init.writer = std::make_shared<dataset_writer>(std::move(st), shared->queue, opts.policy);
  init.writer->set_runner([r = shared->runner](std::vector<std::function<void()>> fns) { r->post_all(std::move(fns)); });
  init.lock = lock;
  init.heartbeat = opts.lock_heartbeat;
  shared->actor = sys.spawn<caf::detached>(dataset_actor_impl, std::move(init));
  // Weak: the queue lives in the actor's state, and must not keep the actor alive.
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(shared->actor);
  shared->queue->set_waker([weak] {
    if (auto a = caf::actor_cast<caf::strong_actor_ptr>(weak))
      caf::anon_send(caf::actor_cast<dataset_actor>(a), wake_atom::value);
  });
  return shared;
}

}  // namespace

dataset engine::open(const std::string& path, const dataset_options& opts) {
  detail::check_not_forked(impl_->forks, "this engine");
  const bool ro = opts.read_only || opts.version.has_value();
  if (opts.queue_bytes == 0) throw error(errc::invalid_argument, "queue_bytes must be positive");
  const bool uri = is_uri(path);
  // Create first, so the registry key is the canonical path of what exists.
  if (!uri && opts.create && !ro && !io::exists(path + "/" + format::schema_file)) {
    try {
      store::initialize(path);  // atomic; opened below under the lock
    } catch (const error& e) {
      // Lost a race with another creator: open theirs. Anything else that
      // exists there is not ours to open.
      if (e.code() != errc::already_exists || !io::exists(path + "/" + format::schema_file)) throw;
    }
  }
  const std::string canon = uri ? path : canonical(path);
  const std::string key = registry_key(canon, ro, opts.version);
  std::shared_ptr<std::mutex> opening;
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    opening = impl_->registry[key].opening;
  }
  // Held through the lock wait and the log replay below: opens of this key
  // wait for each other (the second then finds the first's dataset); opens of
  // other keys do not.
  std::lock_guard<std::mutex> og(*opening);
  std::shared_ptr<detail::dataset_shared> existing;
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    existing = impl_->registry[key].open.lock();
  }
  if (existing) {
    std::lock_guard<std::mutex> sg(existing->mtx);
    if (existing->actor || existing->backend) {
      if (const char* o = conflicting_option(existing->opts, opts, ro))
        throw error(errc::invalid_argument, "dataset " + canon + " is already open in this engine with another " +
                                                o + "; open it with the same options, or close it first");
      dataset d;
      d.s_ = std::move(existing);
      return d;
    }
  }
  std::shared_ptr<detail::dataset_shared> shared =
      uri ? open_remote(*impl_->sys, canon, opts, ro) : open_local(*impl_->sys, path, canon, opts, ro);
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->registry[key].open = shared;
  }
  dataset d;
  d.s_ = std::move(shared);
  return d;
}

}  // namespace serialake
