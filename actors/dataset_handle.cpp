// The public handle: append_future, dataset and subscription (serialake/dataset.hpp).

#include <atomic>

#include "actors/dataset_shared.hpp"
#include "actors/notifier.hpp"
#include "actors/op_pool.hpp"

namespace serialake {

namespace detail {

dataset_shared::~dataset_shared() { close(false); }

dataset_actor dataset_shared::get() {
  check_not_forked(forks, "this dataset");
  std::lock_guard<std::mutex> g(mtx);
  if (!actor) throw error(errc::closed, "dataset " + path + " is closed");
  return actor;
}

std::shared_ptr<dataset_backend> dataset_shared::remote_backend() {
  if (!remote) return nullptr;
  check_not_forked(forks, "this dataset");
  std::lock_guard<std::mutex> g(mtx);
  if (!backend) throw error(errc::closed, "dataset " + path + " is closed");
  return backend;
}

void dataset_shared::need_local(const char* call) const {
  if (remote)
    throw error(errc::invalid_argument, std::string(call) + " is not served for a remote dataset (" + path +
                                            "): a remote dataset appends, flushes, commits, and lists its log "
                                            "and tensors; read it with remote_dataset::read or `serialake cat`");
}

void dataset_shared::close(bool report) {
  if (fork_generation() != forks) {
    // A forked child: the actors (or the remote client's threads) are in the
    // parent. Leak the handles rather than touch them (see dataset_shared.hpp).
    new dataset_actor(std::move(actor));
    new std::shared_ptr<callback_runner>(std::move(runner));
    new std::shared_ptr<dataset_backend>(std::move(backend));
    return;
  }
  struct close_runner {  // after the last completions, even if close failed
    callback_runner* r = nullptr;
    ~close_runner() {
      if (r) r->close();
    }
  } guard;
  try {
    if (remote) {
      std::shared_ptr<dataset_backend> b;
      {
        std::lock_guard<std::mutex> g(mtx);
        b.swap(backend);
      }
      if (!b) return;
      guard.r = runner.get();
      b->close();
      return;
    }
    dataset_actor a;
    {
      std::lock_guard<std::mutex> g(mtx);
      a = std::move(actor);
      actor = nullptr;
    }
    if (!a) return;
    future<ack> done = ask<ack>(a, close_atom::value);
    a = nullptr;
    guard.r = runner.get();
    done.get();
  } catch (const error&) {
    if (report) throw;
  }
}

uint64_t dataset_shared::add_subscriber(commit_subscriber who) {
  static std::atomic<uint64_t> next_id{1};
  const uint64_t id = next_id.fetch_add(1);
  call<uint64_t>(subscribe_atom::value, id, std::move(who));
  return id;
}

void dataset_shared::remove_subscriber(uint64_t id) {
  try {
    caf::anon_send(get(), unsub_atom::value, id);
  } catch (const error&) {
    // Closed (or forked): its notifier is gone, and with it the subscriber.
  }
}

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
  if (!ready()) detail::check_not_forked(q_->forks(), "this append");
  q_->wait_done(*op_);
  if (op_->state.load(std::memory_order_acquire) == append_op::failed) throw *op_->err;
  return op_->index;
}

bool append_future::ready() const noexcept {
  return op_ && op_->state.load(std::memory_order_acquire) != append_op::pending;
}

bool append_future::wait_for(std::chrono::nanoseconds d) const {
  if (!op_) return false;
  if (!ready()) detail::check_not_forked(q_->forks(), "this append");
  return q_->wait_done(*op_, d);
}

void append_future::then(std::function<void(append_future)> fn) && {
  if (!op_) throw error(errc::invalid_argument, "then() on an empty append_future");
  append_op* op = op_;
  op_ = nullptr;
  op->then = [op, q = std::move(q_), fn = std::move(fn)] { fn(append_future(op, q)); };
  uint8_t none = append_op::no_then;
  if (op->then_state.compare_exchange_strong(none, append_op::then_set, std::memory_order_acq_rel))
    return;  // the actor posts it on completion
  auto run = std::move(op->then);  // completed already: run it here
  op->then = nullptr;
  run();
}

// -- dataset -------------------------------------------------------------------

namespace {

detail::dataset_shared& need(const std::shared_ptr<detail::dataset_shared>& s) {
  if (!s) throw error(errc::invalid_argument, "empty dataset handle");
  return *s;
}

}  // namespace

detail::dataset_shared& detail::dataset_access::shared(const dataset& d) { return need(d.s_); }

const std::string& dataset::path() const { return need(s_).path; }
bool dataset::read_only() const { return need(s_).read_only; }

append_future dataset::push(append_op* op) {
  try {
    auto& s = need(s_);
    detail::check_not_forked(s.forks, "this dataset");
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
  if (auto b = need(s_).remote_backend()) return b->create_tensor(spec);
  need(s_).call<ack>(create_atom::value, spec);
}

commit_info dataset::flush() { return flush_async().get(); }

commit_info dataset::commit(const std::string& message) { return commit_async(message).get(); }

future<commit_info> dataset::flush_async() {
  if (auto b = need(s_).remote_backend()) return b->commit({});
  return need(s_).call_async<commit_info>(commit_atom::value, std::string{});
}

future<commit_info> dataset::commit_async(const std::string& message) {
  if (message.empty()) throw error(errc::invalid_argument, "a commit message must not be empty");
  if (auto b = need(s_).remote_backend()) return b->commit(message);
  return need(s_).call_async<commit_info>(commit_atom::value, message);
}

std::vector<commit_info> dataset::log(bool all) {
  if (auto b = need(s_).remote_backend()) return b->log(all);
  return need(s_).call<std::vector<commit_info>>(log_atom::value, all);
}

std::shared_ptr<const serialake::snapshot> dataset::snapshot() { return snapshot_async().get(); }

future<snapshot_ptr> dataset::snapshot_async() {
  need(s_).need_local("snapshot()");
  return need(s_).call_async<snapshot_ptr>(snapshot_atom::value);
}

bool dataset::refresh() {
  need(s_).need_local("refresh()");
  return need(s_).call<bool>(refresh_atom::value);
}

std::vector<tensor_spec> dataset::tensors() {
  if (auto b = need(s_).remote_backend()) return b->tensors();
  return need(s_).call<std::vector<tensor_spec>>(tensors_atom::value);
}

void dataset::close() { need(s_).close(true); }

// -- subscription --------------------------------------------------------------

struct subscription::impl {
  std::shared_ptr<callback_subscriber> sub;
  std::weak_ptr<detail::dataset_shared> ds;
  uint64_t id = 0;
};

subscription dataset::subscribe(std::function<void(const commit_event&)> fn) {
  auto& s = need(s_);
  s.need_local("subscribe()");
  auto i = std::make_shared<subscription::impl>();
  i->sub = std::make_shared<callback_subscriber>();
  i->sub->fn = std::move(fn);
  i->ds = s_;
  i->id = s.add_subscriber(spawn_callback_subscriber(*s.sys, i->sub));
  return subscription(std::move(i));
}

subscription& subscription::operator=(subscription&& o) noexcept {
  if (this != &o) {
    cancel();
    impl_ = std::move(o.impl_);
  }
  return *this;
}

subscription::~subscription() { cancel(); }

void subscription::cancel() {
  if (!impl_) return;
  impl_->sub->cancel();
  if (auto s = impl_->ds.lock()) s->remove_subscriber(impl_->id);
  impl_.reset();
}

uint64_t dataset::queued_bytes() const { return need(s_).queue->queued_bytes(); }
uint64_t dataset::peak_queued_bytes() const { return need(s_).queue->peak_bytes(); }

}  // namespace serialake
