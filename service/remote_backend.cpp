// The remote side of the dataset handle: engine::open of a serialake:// URI
// (after enable_remote()) gives an ordinary dataset whose backend is this.
//
// Appends stay the handle's: producers push append_ops into the handle's
// ingest_queue exactly as for a local dataset (so append_future, then() and
// the queue bound work unchanged). Where the dataset actor would drain the
// queue, the client's Append stream (service/remote_impl.hpp) does: the
// queue's waker pokes the stream's sender thread, which takes every queued op,
// oldest first, and hands each to the stream as one append before it forms
// its next batch; the op completes when the server acknowledges it, on the
// stream's receiver thread, and only then is its room in the queue returned.
// So queue_bytes bounds what is queued or unacknowledged, and a full server
// slows producers down.
//
// Order. Taking ops and handing them to the stream happen under one mutex, also
// taken by flush, commit and close to send what was queued before them: an
// append made before a flush is sent (and acknowledged) before the flush is.

#include <limits>
#include <mutex>

#include "actors/backend.hpp"
#include "service/remote_impl.hpp"

namespace serialake {
namespace detail {

class remote_backend final : public dataset_backend {
 public:
  remote_backend(const std::string& uri, remote_options o, backend_context ctx)
    : client_(uri, std::move(o)), ctx_(std::move(ctx)), wake_(std::make_shared<waker>()) {
    client_.impl_->after_acks = [this] { publish(thens_); };  // receiver thread only: thens_ is its own
    client_.impl_->refill = [this] { send_queued(); };
    wake_->owner = this;
    ctx_.queue->set_waker([w = wake_] { w->wake(); });
  }

  ~remote_backend() override {
    wake_->detach();
    try {
      client_.close();  // before the members its callbacks use go
    } catch (const error&) {
      // Reported by close(), for a caller who asked.
    }
  }

  void create_tensor(const tensor_spec& spec) override { client_.create_tensor(spec); }

  future<commit_info> commit(const std::string& message) override {
    auto st = std::make_shared<async_state<commit_info>>();
    st->runner = ctx_.runner;
    try {
      send_queued();
      st->finish(message.empty() ? client_.flush() : client_.commit(message), std::nullopt);
    } catch (const error& e) {
      st->finish(std::nullopt, e);
    }
    return future<commit_info>(std::move(st));
  }

  std::vector<commit_info> log(bool all) override { return client_.log(all); }

  std::vector<tensor_spec> tensors() override { return client_.tensors(); }

  void close() override {
    wake_->detach();
    bool appended = false;
    {
      std::lock_guard<std::mutex> g(send_mtx_);
      send(ctx_.queue->close(error(errc::closed, "dataset " + client_.uri() + " is closed")));
      appended = appended_;
    }
    client_.close();  // every append acknowledged (or failed)
    if (appended) client_.flush();  // close commits what is pending, as a local close does
  }

 private:
  // The queue's waker. The queue outlives this backend (futures hold it), so
  // the waker reaches it through this, which close() detaches.
  struct waker {
    std::mutex mtx;
    remote_backend* owner = nullptr;
    // Wakes the client's sender; if it has none any more (closing or broken),
    // fails what is queued here (the stream refuses it with its error).
    void wake() {
      std::lock_guard<std::mutex> g(mtx);
      if (owner && !owner->client_.impl_->poke()) owner->send_queued();
    }
    void detach() {
      std::lock_guard<std::mutex> g(mtx);
      owner = nullptr;
    }
  };

  void send_queued() {
    std::lock_guard<std::mutex> g(send_mtx_);
    send(ctx_.queue->take_all());
  }

  // An op's payload as the rows of one append: a sample of one tensor is a
  // row of one cell; a batch of samples, a row per sample.
  static std::vector<row> rows_of(append_op& op) {
    std::vector<row> rows;
    switch (op.payload.index()) {
      case append_op::one:
        rows.emplace_back().emplace_back(op.tensor, std::move(std::get<sample>(op.payload)));
        break;
      case append_op::rows: rows = std::move(std::get<std::vector<row>>(op.payload)); break;
      case append_op::batch:
        for (auto& s : std::get<std::vector<sample>>(op.payload)) rows.emplace_back().emplace_back(op.tensor, std::move(s));
        break;
    }
    return rows;
  }

  // Completes `op` with `e` (null: success) and returns its room to producers.
  void finish(append_op* op, const error* e, std::vector<std::function<void()>>& thens) {
    const uint64_t bytes = op->bytes;  // the op may be recycled by complete_op
    complete_op(op, e, thens);
    ctx_.queue->release(bytes);
  }

  void publish(std::vector<std::function<void()>>& thens) {
    ctx_.queue->notify_done();
    if (thens.empty()) return;
    ctx_.post_all(std::move(thens));
    thens.clear();
  }

  // Hands `ops` (oldest first) to the stream, each an append of its own, in
  // one push. REQUIRES: send_mtx_ held.
  void send(append_op* ops) {
    std::vector<remote_dataset::impl::append> appends;
    std::vector<append_op*> taken;
    for (append_op* op = ops; op; op = op->next) taken.push_back(op);
    if (taken.empty()) return;
    appended_ = true;
    for (append_op* op : taken)
      appends.push_back({rows_of(*op), [this, op](uint64_t first, const error* e) {
                           op->index = first;
                           finish(op, e, thens_);
                         }});
    try {
      client_.impl_->push(std::move(appends));
    } catch (const error& e) {  // refused before any was queued: the client is closed or broken
      std::vector<std::function<void()>> thens;
      for (append_op* op : taken) finish(op, &e, thens);
      publish(thens);
    }
  }

  remote_dataset client_;
  backend_context ctx_;
  std::shared_ptr<waker> wake_;
  std::mutex send_mtx_;
  bool appended_ = false;  // guarded by send_mtx_
  std::vector<std::function<void()>> thens_;  // continuations gathered on the receiver thread
};

}  // namespace detail

void enable_remote() {
  detail::register_backend("serialake://", [](const std::string& uri, const dataset_options& opts,
                                               detail::backend_context ctx) -> std::unique_ptr<detail::dataset_backend> {
    if (opts.version)
      throw error(errc::invalid_argument, "open " + uri + ": a remote dataset serves its last commit only "
                                                          "(dataset_options::version is not served)");
    remote_options o;
    o.token = opts.remote.token.empty() ? remote_token("") : opts.remote.token;
    o.tls_ca = opts.remote.tls_ca;
    o.deadline = opts.remote.deadline;
    o.durable = opts.policy.mode == durability::durable;
    // The handle's queue bounds what is unacknowledged (its room comes back on
    // acknowledgement): the stream needs no window of its own.
    o.window_bytes = std::numeric_limits<size_t>::max() / 2;
    if (opts.create && !opts.read_only) {
      try {
        remote_dataset::create(uri, {}, o);
      } catch (const error& e) {
        if (e.code() != errc::already_exists) throw;
      }
    }
    return std::make_unique<detail::remote_backend>(uri, std::move(o), std::move(ctx));
  });
}

}  // namespace serialake
