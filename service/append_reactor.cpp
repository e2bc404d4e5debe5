// One Append stream. No thread waits for an append: each batch is handed to the
// dataset's intake (intake.hpp: admission and group commit), and its
// acknowledgement is written from the continuation the intake calls.
//
// Memory stays bounded: while the batches received but not yet acknowledged
// exceed max_pending_bytes or max_pending_batches, or while the intake parks the
// last batch (the dataset is full), the stream stops reading, so HTTP/2 flow
// control makes the client wait. Replies wait in a queue until the
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
    if (!in_) {
      name_ = req_.name();
      in_ = reg_.writer(name_);
    }
    std::vector<row> rows;
    rows.reserve(static_cast<size_t>(req_.rows_size()));
    size_t cells = 0;
    for (auto& r : *req_.mutable_rows()) {
      cells += static_cast<size_t>(r.cells_size());
      rows.push_back(from_proto(std::move(r), rows.size()));
    }
    const uint64_t count = rows.size();
    if (count == 0) {
      answer(seq, bytes, 0, 0);
      return;
    }
    // Parked until the intake says otherwise: its `admitted` may run on another
    // thread as soon as submit() parked the batch.
    set_parked(true);
    const bool now = in_->submit(
        std::move(rows), batch_cost(bytes, count, cells), req_.durable(),
        [this, seq, bytes, count](uint64_t first, const error* e) {
          if (e) return answer_error(seq, bytes, *e);
          answer(seq, bytes, first, count);
        },
        [this] { admitted(); });
    if (now) set_parked(false);
  }

  void set_parked(bool p) {
    std::lock_guard<std::mutex> g(mtx_);
    parked_ = p;
  }

  // The parked batch went to the dataset: read on if reading waited for it.
  void admitted() {
    std::unique_lock<std::mutex> lk(mtx_);
    parked_ = false;
    const bool resume = paused_ && !reads_done_ && room();
    if (!resume) return;
    paused_ = false;
    lk.unlock();
    StartRead(&req_);
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
  bool room() const { return !parked_ && pending_ < max_pending_batches && pending_bytes_ < max_pending_bytes; }

  // Ends the call once nothing more can come or go (unlocking `lk` to do so).
  void finish_if_done(std::unique_lock<std::mutex>& lk) {
    if (finished_ || !reads_done_ || pending_ > 0 || writing_) return;
    finished_ = true;
    lk.unlock();
    Finish(grpc::Status::OK);
  }

  registry& reg_;
  v1::AppendRequest req_;  // the batch being read; handled before the next read
  std::shared_ptr<intake> in_;
  std::string name_;
  std::mutex mtx_;
  std::deque<v1::AppendReply> out_;  // replies not yet written; front() is in flight
  size_t pending_ = 0;               // batches received, not yet answered
  size_t pending_bytes_ = 0;
  bool writing_ = false;
  bool paused_ = false;  // reading stopped for room()
  bool parked_ = false;  // the last batch read waits for room in the dataset (intake.hpp)
  bool reads_done_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply>* start_append(registry& reg) {
  return new append_reactor(reg);
}

}  // namespace serialake::service
