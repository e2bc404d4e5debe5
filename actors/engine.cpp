#include <caf/all.hpp>

#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "actors/dataset.hpp"
#include "actors/dataset_actor.hpp"
#include "actors/ingest_queue.hpp"
#include "actors/op_pool.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"

namespace serialake {

namespace detail {

// What all copies of a dataset handle share.
struct dataset_shared {
  std::string path;
  bool read_only = false;
  dataset_options opts;  // as first opened; a reopen must match (conflicting_option)
  std::shared_ptr<ingest_queue> queue;
  std::mutex mtx;
  dataset_actor actor;  // guarded by mtx; reset on close (no handle may outlive the system)

  ~dataset_shared() { close(false); }

  dataset_actor get() {
    std::lock_guard<std::mutex> g(mtx);
    if (!actor) throw error(errc::closed, "dataset " + path + " is closed");
    return actor;
  }

  // Sends `xs...` plus a reply promise; waits for the answer.
  template <class T, class... Ts>
  T call(Ts&&... xs) {
    auto p = std::make_shared<std::promise<T>>();
    auto f = p->get_future();
    caf::anon_send(get(), std::forward<Ts>(xs)..., reply<T>(p));
    try {
      return f.get();
    } catch (const std::future_error&) {
      throw error(errc::closed, "dataset " + path + " closed before answering");
    }
  }

  // Closes the dataset; with `report`, throws if its last commit failed.
  void close(bool report) {
    dataset_actor a;
    {
      std::lock_guard<std::mutex> g(mtx);
      a = std::move(actor);
      actor = nullptr;
    }
    if (!a) return;
    auto p = std::make_shared<std::promise<void>>();
    auto f = p->get_future();
    caf::anon_send(a, close_atom::value, reply<void>(p));
    a = nullptr;
    try {
      f.get();
    } catch (const std::future_error&) {
      // The actor was already gone.
    } catch (const error&) {
      if (report) throw;
    }
  }
};

}  // namespace detail

using detail::append_op;

// -- append_future -------------------------------------------------------------

append_future& append_future::operator=(append_future&& o) noexcept {
  if (this != &o) {
    if (op_) op_->release();
    op_ = o.op_;
    q_ = std::move(o.q_);
    o.op_ = nullptr;
  }
  return *this;
}

append_future::~append_future() {
  if (op_) op_->release();
}

uint64_t append_future::get() {
  if (!op_) throw error(errc::invalid_argument, "get() on an empty append_future");
  q_->wait_done(*op_);
  if (op_->state.load(std::memory_order_acquire) == append_op::failed) throw *op_->err;
  return op_->index;
}

bool append_future::ready() const noexcept {
  return op_ && op_->state.load(std::memory_order_acquire) != append_op::pending;
}

bool append_future::wait_for(std::chrono::nanoseconds d) const {
  return op_ && q_->wait_done(*op_, d);
}

// -- dataset -------------------------------------------------------------------

namespace {

detail::dataset_shared& need(const std::shared_ptr<detail::dataset_shared>& s) {
  if (!s) throw error(errc::invalid_argument, "empty dataset handle");
  return *s;
}

}  // namespace

const std::string& dataset::path() const { return need(s_).path; }
bool dataset::read_only() const { return need(s_).read_only; }

append_future dataset::push(append_op* op) {
  try {
    auto& s = need(s_);
    if (s.read_only) throw error(errc::read_only, "dataset " + s.path + " is open read-only");
    s.queue->push(op);
    return append_future(op, s.queue);
  } catch (...) {
    delete op;  // never queued: nobody else refers to it
    throw;
  }
}

append_future dataset::append(std::string tensor, sample smp) {
  append_op* op = detail::new_op();
  op->tensor = std::move(tensor);
  op->payload = std::move(smp);
  return push(op);
}

append_future dataset::append(std::string_view tensor, const sample_view& v) {
  std::unique_ptr<append_op> op(detail::new_op());  // freed if a copy below throws
  op->tensor.assign(tensor);
  auto* s = std::get_if<sample>(&op->payload);
  if (!s) s = &op->payload.emplace<sample>();
  s->type = v.type;
  s->shape.assign(v.shape, v.shape + v.ndim);
  const char* bytes = static_cast<const char*>(v.data);
  // A reused buffer far larger than this sample would count (and hold) its
  // whole capacity against the queue bound: start a fitting one instead.
  if (s->data.capacity() > 2 * v.size + 4096)
    std::string(bytes, v.size).swap(s->data);
  else
    s->data.assign(bytes, v.size);
  return push(op.release());
}

append_future dataset::append_row(row r) {
  std::vector<row> rows;
  rows.push_back(std::move(r));
  return append_rows(std::move(rows));
}

append_future dataset::append_rows(std::vector<row> rows) {
  append_op* op = detail::new_op();
  op->tensor.clear();
  op->payload = std::move(rows);
  return push(op);
}

append_future dataset::append_batch(std::string tensor, std::vector<sample> samples) {
  append_op* op = detail::new_op();
  op->tensor = std::move(tensor);
  op->payload = std::move(samples);
  return push(op);
}

void dataset::create_tensor(const tensor_spec& spec) {
  need(s_).call<void>(create_atom::value, spec);
}

commit_info dataset::flush() { return need(s_).call<commit_info>(commit_atom::value, std::string{}); }

commit_info dataset::commit(const std::string& message) {
  if (message.empty()) throw error(errc::invalid_argument, "a commit message must not be empty");
  return need(s_).call<commit_info>(commit_atom::value, message);
}

std::vector<commit_info> dataset::log(bool all) {
  return need(s_).call<std::vector<commit_info>>(log_atom::value, all);
}

std::shared_ptr<const serialake::snapshot> dataset::snapshot() {
  return need(s_).call<snapshot_ptr>(snapshot_atom::value);
}

bool dataset::refresh() { return need(s_).call<bool>(refresh_atom::value); }

std::vector<tensor_spec> dataset::tensors() {
  return need(s_).call<std::vector<tensor_spec>>(tensors_atom::value);
}

void dataset::close() { need(s_).close(true); }

uint64_t dataset::queued_bytes() const { return need(s_).queue->queued_bytes(); }
uint64_t dataset::peak_queued_bytes() const { return need(s_).queue->peak_bytes(); }

// -- engine --------------------------------------------------------------------

struct engine::impl {
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

engine::engine(engine_options opts) : impl_(std::make_unique<impl>()) {
  size_t threads = opts.threads ? opts.threads : std::max(2u, std::thread::hardware_concurrency());
  impl_->cfg.set("scheduler.max-threads", static_cast<int>(threads));
  impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
}

engine::~engine() {
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

caf::actor_system& engine::system() { return *impl_->sys; }

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

}  // namespace

dataset engine::open(const std::string& path, const dataset_options& opts) {
  const bool ro = opts.read_only || opts.version.has_value();
  if (opts.queue_bytes == 0) throw error(errc::invalid_argument, "queue_bytes must be positive");
  // Create first, so the registry key is the canonical path of what exists.
  if (opts.create && !ro && !io::exists(path + "/" + format::schema_file)) {
    try {
      store::initialize(path);  // atomic; opened below under the lock
    } catch (const error& e) {
      // Lost a race with another creator: open theirs. Anything else that
      // exists there is not ours to open.
      if (e.code() != errc::already_exists || !io::exists(path + "/" + format::schema_file)) throw;
    }
  }
  const std::string canon = canonical(path);
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
    if (existing->actor) {
      if (const char* o = conflicting_option(existing->opts, opts, ro))
        throw error(errc::invalid_argument, "dataset " + canon + " is already open in this engine with another " +
                                                o + "; open it with the same options, or close it first");
      dataset d;
      d.s_ = std::move(existing);
      return d;
    }
  }
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
  dataset_init init;
  init.writer = std::make_shared<dataset_writer>(std::move(st), shared->queue, opts.policy);
  init.lock = lock;
  init.heartbeat = opts.lock_heartbeat;
  shared->actor = impl_->sys->spawn<caf::detached>(dataset_actor_impl, std::move(init));
  // Weak: the queue lives in the actor's state, and must not keep the actor alive.
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(shared->actor);
  shared->queue->set_waker([weak] {
    if (auto a = caf::actor_cast<caf::strong_actor_ptr>(weak))
      caf::anon_send(caf::actor_cast<dataset_actor>(a), wake_atom::value);
  });
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->registry[key].open = shared;
  }
  dataset d;
  d.s_ = std::move(shared);
  return d;
}

}  // namespace serialake
