#include "actors/writer.hpp"

namespace serialake {

using detail::append_op;

namespace {

// Room is returned to producers in steps this large during a long drain.
constexpr uint64_t release_step = 1 << 20;

// Commits one serve() may make before the actor looks at its mailbox again
// (it looks earlier when a message waits). Lingering on for good measured
// slower at T=16: the actor commits each straggler alone instead of letting
// the woken writers gather into the next group.
constexpr int max_rounds = 8;

// Samples smaller than this are copied into the store's write buffer, so the op
// keeps its buffer for its producer's next append (op_pool.hpp); larger ones are
// handed over and reach the page cache with no copy of ours.
constexpr size_t hand_over_bytes = 64 << 10;

}  // namespace

dataset_writer::dataset_writer(std::unique_ptr<store> st, std::shared_ptr<detail::ingest_queue> q,
                               write_policy p)
  : store_(std::move(st)), queue_(std::move(q)), policy_(p) {}

dataset_writer::~dataset_writer() {
  try {
    close();
  } catch (...) {
    // The store keeps the error; nothing more can be done while tearing down.
  }
}

uint64_t dataset_writer::apply(append_op& op) {
  switch (op.payload.index()) {
    case append_op::one: {
      auto& s = std::get<sample>(op.payload);
      return s.data.size() < hand_over_bytes ? store_->append(op.tensor, s)
                                             : store_->append(op.tensor, std::move(s));
    }
    case append_op::rows: return store_->append_rows(std::move(std::get<std::vector<row>>(op.payload)));
    case append_op::batch:
      return store_->append_batch(op.tensor, std::move(std::get<std::vector<sample>>(op.payload)));
  }
  throw error(errc::internal, "unknown append kind");
}

void dataset_writer::finish(append_op* op, const error* e) { detail::complete_op(op, e, thens_); }

void dataset_writer::publish() {
  queue_->notify_done();
  if (thens_.empty()) return;
  if (run_) run_(std::move(thens_));
  thens_.clear();
}

commit_info dataset_writer::commit_store(const std::string& message) {
  const uint64_t before = store_->version();
  commit_info info = store_->commit(message);
  if (on_commit_ && info.version != before) {
    commit_event e;
    e.commit = info;
    e.first_version = info.version;
    e.ranges = store_->last_commit_ranges();
    on_commit_(std::move(e));
  }
  return info;
}

void dataset_writer::apply_all(append_op* ops) {
  uint64_t bytes = 0;
  while (ops) {
    append_op* op = ops;
    ops = op->next;
    bytes += op->bytes;
    if (bytes >= release_step) {  // let blocked producers go on while we apply
      queue_->release(bytes);
      bytes = 0;
    }
    try {
      op->index = apply(*op);
      if (policy_.mode == durability::durable)
        awaiting_.push_back(op);
      else
        finish(op, nullptr);
    } catch (const error& e) {
      finish(op, &e);
    } catch (const std::exception& e) {  // e.g. bad_alloc: still this op's failure only
      error err(errc::internal, e.what());
      finish(op, &err);
    }
  }
  queue_->release(bytes);
}

commit_info dataset_writer::commit_awaiting(const std::string& message) {
  commit_info info;
  try {
    info = commit_store(message);
  } catch (const error& e) {
    for (auto* op : awaiting_) finish(op, &e);
    awaiting_.clear();
    publish();
    throw;
  }
  for (auto* op : awaiting_) finish(op, nullptr);
  awaiting_.clear();
  return info;
}

bool dataset_writer::drain() { return apply_and_commit(queue_->take_all()); }

bool dataset_writer::apply_and_commit(append_op* ops) {
  if (!ops) return false;
  apply_all(ops);
  try {
    if (!awaiting_.empty()) commit_awaiting({});
    if (policy_.mode == durability::buffered && store_->pending_bytes() >= policy_.commit_bytes)
      commit_store({});
  } catch (const error&) {
    // The store now refuses writes with this error; every later call reports it.
  }
  publish();
  if (policy_.mode == durability::buffered && store_->pending_samples() > 0 && !timer_armed_) {
    timer_armed_ = true;
    return true;
  }
  return false;
}

dataset_writer::serve_result dataset_writer::serve(const std::function<bool()>& mail_waiting) {
  queue_->begin_drain();
  struct end_drain {  // whatever happens, producers must be able to wake us again
    detail::ingest_queue& q;
    bool* again;
    ~end_drain() { *again = q.end_drain(); }
  };
  serve_result r;
  {
    end_drain guard{*queue_, &r.wake_again};
    append_op* ops = queue_->take_all();
    // Durable: the writers just woken append again within microseconds; catching
    // their appends here spares this thread a wake-up (tens of us on a VM), and
    // their next push a message. For a bounded number of rounds, and only while
    // no message waits: a control message (flush, close, a timer) ends it.
    const bool linger = ops && policy_.mode == durability::durable && policy_.linger.count() > 0;
    r.arm_timer = apply_and_commit(ops);
    for (int round = 1; linger && round < max_rounds && !mail_waiting(); ++round)
      if (!apply_and_commit(queue_->take_within(policy_.linger))) break;
  }
  return r;
}

void dataset_writer::tick() {
  timer_armed_ = false;  // the next append after this commit arms a new timer
  try {
    commit({});
  } catch (const error&) {
    // Kept by the store; reported by the next flush, commit or append.
  }
}

commit_info dataset_writer::commit(const std::string& message) {
  if (append_op* ops = queue_->take_all()) apply_all(ops);
  commit_info info = commit_awaiting(message);
  publish();
  return info;
}

void dataset_writer::close() {
  if (closed_) return;
  closed_ = true;
  append_op* ops = queue_->close(error(errc::closed, "dataset " + store_->path() + " is closed"));
  apply_all(ops);
  if (!store_->read_only()) {
    commit_awaiting({});
    store_->close();
  }
  publish();
}

}  // namespace serialake
