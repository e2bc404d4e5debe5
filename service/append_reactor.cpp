// One Append stream. No thread waits for an append: each batch is handed to the
// dataset with append_rows, and its acknowledgement is written from the append's
// continuation (append_future::then; flush_async().then for durable batches).
//
// Memory stays bounded: while the batches received but not yet acknowledged
// exceed max_pending_bytes or max_pending_batches, the stream stops reading, so
// HTTP/2 flow control makes the client wait. Replies wait in a queue until the
// one write gRPC allows at a time is done; a client that stops reading stalls
// that queue, which holds at most the pending batches' small replies.
//
// The call ends (Finish) only once the client finished sending (or went away)
// and every batch it sent was answered: a continuation never outlives the reactor.

#include "service/append_reactor.hpp"

#include <deque>
#include <mutex>

#include <spdlog/spdlog.h>

#include "service/convert.hpp"

namespace serialake::service {
namespace {

constexpr size_t max_pending_bytes = 16u << 20;
constexpr size_t max_pending_batches = 1024;

class append_reactor final : public grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply> {
 public:
  explicit append_reactor(registry& reg) : reg_(reg) { StartRead(&req_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending, or went away
      std::unique_lock<std::mutex> lk(mtx_);
      reads_done_ = true;
      finish_if_done(lk);
      return;
    }
    const uint64_t seq = req_.seq();
    const size_t bytes = req_.ByteSizeLong();
    {
      std::lock_guard<std::mutex> g(mtx_);
      ++pending_;
      pending_bytes_ += bytes;
    }
    try {
      submit(seq, bytes);
    } catch (const error& e) {
      answer_error(seq, bytes, e);
    }
    std::unique_lock<std::mutex> lk(mtx_);
    if (!room()) {
      paused_ = true;  // push() resumes reading
      return;
    }
    lk.unlock();
    StartRead(&req_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lk(mtx_);
    out_.pop_front();
    if (!ok) {  // the client is gone: nobody reads the rest
      out_.clear();
      broken_ = true;
    }
    writing_ = !out_.empty();
    if (writing_) {
      v1::AppendReply* next = &out_.front();  // deque: stays put while others push_back
      lk.unlock();
      StartWrite(next);
      return;
    }
    finish_if_done(lk);
  }

  void OnDone() override { delete this; }

 private:
  void submit(uint64_t seq, size_t bytes) {
    if (!ds_) {
      name_ = req_.name();
      ds_ = reg_.get(name_);
    }
    std::vector<row> rows;
    rows.reserve(static_cast<size_t>(req_.rows_size()));
    for (auto& r : *req_.mutable_rows()) rows.push_back(from_proto(std::move(r), rows.size()));
    const uint64_t count = rows.size();
    const bool durable = req_.durable();
    if (count == 0) {
      answer(seq, bytes, 0, 0);
      return;
    }
    append_future f = ds_.append_rows(std::move(rows));
    if (!durable) {
      std::move(f).then([this, seq, bytes, count](append_future done) { acknowledge(done, seq, bytes, count); });
      return;
    }
    // The flush is asked for at once, not once the append was applied: it
    // commits everything appended before it, so it holds this batch, and the
    // batch skips the dataset's drain delay. The append completed before its
    // commit did, so its then() below runs at once.
    auto pending = std::make_shared<append_future>(std::move(f));
    ds_.flush_async().then([this, seq, bytes, count, pending](future<commit_info> c) {
      try {
        c.get();
      } catch (const error& e) {
        return answer_error(seq, bytes, e);
      }
      std::move(*pending).then([this, seq, bytes, count](append_future done) { acknowledge(done, seq, bytes, count); });
    });
  }

  void acknowledge(append_future& done, uint64_t seq, size_t bytes, uint64_t count) {
    try {
      answer(seq, bytes, done.get(), count);
    } catch (const error& e) {
      answer_error(seq, bytes, e);
    }
  }

  void answer(uint64_t seq, size_t bytes, uint64_t first, uint64_t count) {
    v1::AppendReply r;
    r.set_seq(seq);
    r.set_first(first);
    r.set_count(count);
    push(std::move(r), bytes);
  }

  void answer_error(uint64_t seq, size_t bytes, const error& e) {
    spdlog::debug("append to {}: batch {} failed: {}", name_, seq, e.what());
    v1::AppendReply r;
    r.set_seq(seq);
    to_proto(e, *r.mutable_error());
    push(std::move(r), bytes);
  }

  // Queues reply `r` of a batch of `bytes`. gRPC's Start* and Finish are
  // called with mtx_ released: a reaction they trigger takes it.
  void push(v1::AppendReply r, size_t bytes) {
    std::unique_lock<std::mutex> lk(mtx_);
    --pending_;
    pending_bytes_ -= bytes;
    v1::AppendReply* write = nullptr;
    if (!broken_) {
      out_.push_back(std::move(r));
      if (!writing_) {
        writing_ = true;
        write = &out_.front();
      }
    }
    const bool resume = paused_ && !reads_done_ && room();
    if (resume) paused_ = false;
    if (!write && !resume) return finish_if_done(lk);
    lk.unlock();
    if (write) StartWrite(write);
    if (resume) StartRead(&req_);
  }

  // REQUIRES: mtx_ held.
  bool room() const { return pending_ < max_pending_batches && pending_bytes_ < max_pending_bytes; }

  // Ends the call once nothing more can come or go (unlocking `lk` to do so).
  void finish_if_done(std::unique_lock<std::mutex>& lk) {
    if (finished_ || !reads_done_ || pending_ > 0 || writing_) return;
    finished_ = true;
    lk.unlock();
    Finish(grpc::Status::OK);
  }

  registry& reg_;
  v1::AppendRequest req_;  // the batch being read; handled before the next read
  dataset ds_;
  std::string name_;
  std::mutex mtx_;
  std::deque<v1::AppendReply> out_;  // replies not yet written; front() is in flight
  size_t pending_ = 0;               // batches received, not yet answered
  size_t pending_bytes_ = 0;
  bool writing_ = false;
  bool paused_ = false;
  bool reads_done_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply>* start_append(registry& reg) {
  return new append_reactor(reg);
}

}  // namespace serialake::service
