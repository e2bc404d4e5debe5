#include "service/intake.hpp"

#include <optional>

namespace serialake::service {

namespace {

// A durable batch's acknowledgement joins its append (the index, or why the
// rows were refused) and its group's flush; whichever completes second answers.
struct durable_join {
  std::mutex mtx;
  int left = 2;
  uint64_t first = 0;
  std::optional<error> err;
  intake::done_fn done;

  void arrive(const error* e, std::optional<uint64_t> index) {
    std::unique_lock<std::mutex> lk(mtx);
    if (index) first = *index;
    if (e && !err) err = *e;
    if (--left > 0) return;
    lk.unlock();
    done(first, err ? &*err : nullptr);
  }
};

}  // namespace

uint64_t batch_cost(uint64_t wire_bytes, size_t rows, size_t cells) {
  // A sample's bytes may sit in a string of up to twice their size (protobuf
  // grows the strings it parses); a cell's and a row's containers and the
  // append's own node are well under the constants.
  return 2 * wire_bytes + 256 * static_cast<uint64_t>(cells) + 64 * static_cast<uint64_t>(rows) + 1024;
}

bool intake::submit(std::vector<row> rows, uint64_t cost, bool durable, done_fn done,
                    std::function<void()> admitted) {
  batch b{std::move(rows), cost, durable, std::move(done), std::move(admitted)};
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (!parked_.empty() || (in_flight_ > 0 && in_flight_ + cost > budget_)) {
      parked_.push_back(std::move(b));
      return false;
    }
    in_flight_ += cost;
  }
  start(std::move(b));
  return true;
}

void intake::start(batch b) {
  append_future f;
  try {
    f = ds_.append_rows(std::move(b.rows));  // never waits: admission kept the queue below its bound
  } catch (const error& e) {
    applied(b.cost);
    b.done(0, &e);
    return;
  }
  auto self = shared_from_this();
  const uint64_t cost = b.cost;
  if (!b.durable) {
    std::move(f).then([self, cost, done = std::move(b.done)](append_future r) {
      self->applied(cost);
      try {
        const uint64_t first = r.get();
        done(first, nullptr);
      } catch (const error& e) {
        done(0, &e);
      }
    });
    return;
  }
  auto join = std::make_shared<durable_join>();
  join->done = std::move(b.done);
  // Asked for after the append was queued, so the flush that answers it holds it.
  after_commit([join](const error* e) { join->arrive(e, std::nullopt); });
  std::move(f).then([self, cost, join](append_future r) {
    self->applied(cost);
    try {
      join->arrive(nullptr, r.get());
    } catch (const error& e) {
      join->arrive(&e, std::nullopt);
    }
  });
}

void intake::applied(uint64_t cost) {
  std::vector<batch> go;
  {
    std::lock_guard<std::mutex> g(mtx_);
    in_flight_ -= cost;
    while (!parked_.empty() && (in_flight_ == 0 || in_flight_ + parked_.front().cost <= budget_)) {
      in_flight_ += parked_.front().cost;
      go.push_back(std::move(parked_.front()));
      parked_.pop_front();
    }
  }
  // Started before its stream reads on, so a stream's batches keep their order.
  // Its stream cannot end meanwhile: it reads nothing while its batch is parked.
  for (auto& b : go) {
    auto admitted = std::move(b.admitted);
    start(std::move(b));
    admitted();
  }
}

void intake::after_commit(std::function<void(const error*)> ack) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (flushing_) {
      next_group_.push_back(std::move(ack));
      return;
    }
    flushing_ = true;
  }
  flush_for({std::move(ack)});
}

void intake::flush_for(std::vector<std::function<void(const error*)>> acks) {
  do {
    try {
      auto self = shared_from_this();
      ds_.flush_async().then([self, acks](future<commit_info> c) mutable {
        std::optional<error> err;
        try {
          c.get();
        } catch (const error& e) {
          err = e;
        }
        for (auto& a : acks) a(err ? &*err : nullptr);
        if (self->next_group(acks)) self->flush_for(std::move(acks));
      });
      return;
    } catch (const error& e) {
      for (auto& a : acks) a(&e);
    }
  } while (next_group(acks));
}

bool intake::next_group(std::vector<std::function<void(const error*)>>& acks) {
  acks.clear();
  std::lock_guard<std::mutex> g(mtx_);
  if (next_group_.empty()) {
    flushing_ = false;
    return false;
  }
  acks.swap(next_group_);
  return true;
}

}  // namespace serialake::service
