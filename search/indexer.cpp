// The indexer: a commit subscription that only wakes a worker thread (the
// subscriber's call runs on the dataset's notifier and must not block), and
// the worker, which takes a snapshot and adds its new rows to the index.

#include "serialake/indexer.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace serialake {

struct indexer::impl {
  dataset ds;
  std::string tensor;
  std::mutex mtx;
  std::condition_variable cv;
  bool dirty = true;  // guarded by mtx: a commit not yet indexed
  bool stop = false;
  uint64_t rows = 0;
  std::exception_ptr failed;
  subscription sub;
  std::thread worker;

  void run() {
    std::unique_lock<std::mutex> l(mtx);
    while (!stop && !failed) {
      cv.wait(l, [&] { return stop || dirty; });
      if (stop) break;
      dirty = false;
      l.unlock();
      std::exception_ptr e;
      index_info info;
      try {
        info = update_index(*ds.snapshot(), tensor);
      } catch (...) {
        e = std::current_exception();
      }
      l.lock();
      if (e) failed = e;
      else rows = info.rows;
      cv.notify_all();
    }
  }
};

indexer::indexer(dataset ds, std::string tensor, const index_options& o) : impl_(std::make_unique<impl>()) {
  impl_->ds = std::move(ds);
  impl_->tensor = std::move(tensor);
  auto snap = impl_->ds.snapshot();
  if (!find_index(*snap, impl_->tensor)) create_index(*snap, impl_->tensor, o);
  impl* i = impl_.get();
  impl_->sub = impl_->ds.subscribe([i](const commit_event& e) {
    for (const auto& r : e.ranges)
      if (r.tensor == i->tensor) {
        std::lock_guard<std::mutex> g(i->mtx);
        i->dirty = true;
        i->cv.notify_all();
      }
  });
  impl_->worker = std::thread([i] { i->run(); });
}

indexer::indexer(indexer&&) noexcept = default;
indexer& indexer::operator=(indexer&&) noexcept = default;

indexer::~indexer() {
  if (!impl_) return;
  impl_->sub.cancel();
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->stop = true;
    impl_->cv.notify_all();
  }
  impl_->worker.join();
}

bool indexer::wait_for_rows(uint64_t rows, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(impl_->mtx);
  const bool ok = impl_->cv.wait_for(l, timeout, [&] { return impl_->failed || impl_->rows >= rows; });
  if (impl_->failed) std::rethrow_exception(impl_->failed);
  return ok;
}

}  // namespace serialake
