// The indexer (serialake/indexer.hpp): a detached indexer_actor (actors.hpp)
// subscribed to its dataset's commits, and the handle that waits on its
// progress. The actor only calls update_index (serialake_search, CAF-free).

#include <caf/all.hpp>

#include <condition_variable>
#include <exception>
#include <mutex>

#include "actors/actors.hpp"
#include "actors/dataset_shared.hpp"
#include "serialake/indexer.hpp"

namespace serialake {
namespace {

// What the handle and its actor share: the actor's progress.
struct indexer_status {
  std::mutex mtx;
  std::condition_variable cv;
  uint64_t rows = 0;      // guarded by mtx, as the rest
  uint64_t updates = 0;
  std::exception_ptr failed;
  bool stopped = false;   // the actor quit and let go of its dataset handle

  template <class F>
  void change(F f) {
    {
      std::lock_guard<std::mutex> g(mtx);
      f();
    }
    cv.notify_all();
  }
};

// What the actor starts with, moved out by the actor: the spawn argument stays
// in CAF's hands for as long as it likes, and must hold no dataset handle then.
struct indexer_init {
  dataset ds;
  std::string tensor;
  std::shared_ptr<indexer_status> status;
  dataset_actor owner;
};

struct indexer_state {
  dataset ds;
  std::string tensor;
  std::shared_ptr<indexer_status> status;

  // Runs when the actor quits (CAF destroys a stateful actor's state then).
  // The dataset handle goes first: if it was the last, the dataset closes
  // here, before the indexer's destructor, waiting for `stopped`, returns.
  ~indexer_state() {
    ds = dataset{};
    if (status) status->change([&] { status->stopped = true; });
  }
  static inline const char* name = "serialake.indexer";
};

// Brings the index up to the dataset's last commit. The first failure is kept
// and ends the updates (wait_for_rows throws it).
void catch_up(indexer_state& st) {
  {
    std::lock_guard<std::mutex> g(st.status->mtx);
    if (st.status->failed) return;
  }
  try {
    const index_info info = update_index(*st.ds.snapshot(), st.tensor);
    st.status->change([&] {
      st.status->rows = info.rows;
      ++st.status->updates;
    });
  } catch (...) {
    st.status->change([&] { st.status->failed = std::current_exception(); });
  }
}

// Quits when its dataset actor goes (the dataset closed): nothing is left to
// index, and an actor left behind would hang the actor system's shutdown.
indexer_actor::behavior_type indexer_impl(indexer_actor::stateful_pointer<indexer_state> self,
                                          std::shared_ptr<indexer_init> init) {
  auto& st = self->state;
  st.ds = std::move(init->ds);
  st.tensor = std::move(init->tensor);
  st.status = std::move(init->status);
  self->monitor(init->owner);
  init->owner = nullptr;
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
    [self](notify_atom, const commit_event&) {
      catch_up(self->state);
      return true;
    },
    [self](close_atom) { self->quit(); },
  };
}

}  // namespace

struct indexer::impl {
  dataset ds;
  std::shared_ptr<indexer_status> status = std::make_shared<indexer_status>();
  // Weak: a handle kept past the actor's end would hang the actor system's
  // shutdown (CAF-NOTES); the notifier holds the strong one.
  caf::weak_actor_ptr actor;  // null until spawned
  uint64_t subscriber = 0;

  // Also on a constructor that failed half-way: unsubscribes, stops the actor
  // and waits until it let go (an update in progress finishes first). An
  // actor no longer reachable (its dataset closed) quits by itself: CAF
  // destroys its state then too.
  ~impl() {
    if (subscriber) detail::dataset_access::shared(ds).remove_subscriber(subscriber);
    if (!actor) return;
    if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(actor))
      caf::anon_send(caf::actor_cast<indexer_actor>(std::move(strong)), close_atom::value);
    std::unique_lock<std::mutex> l(status->mtx);
    status->cv.wait(l, [&] { return status->stopped; });
  }
};

indexer::indexer(dataset ds, std::string tensor, const index_options& o) : impl_(std::make_unique<impl>()) {
  auto& shared = detail::dataset_access::shared(ds);
  auto snap = ds.snapshot();
  if (!find_index(*snap, tensor)) create_index(*snap, tensor, o);
  impl_->ds = ds;
  // Spawned with its state as an argument: a function actor spawned without
  // one gets a null argument tuple in CAF 0.17 (UBSan caught it).
  auto init = std::make_shared<indexer_init>(indexer_init{std::move(ds), std::move(tensor), impl_->status, shared.get()});
  indexer_actor a = shared.sys->spawn<caf::detached>(indexer_impl, std::move(init));
  impl_->actor = caf::actor_cast<caf::weak_actor_ptr>(a);
  impl_->subscriber = shared.add_subscriber(a);
  // Rows committed between the snapshot above and the subscription.
  caf::anon_send(a, notify_atom::value, commit_event{});
}

indexer::indexer(indexer&&) noexcept = default;
indexer& indexer::operator=(indexer&&) noexcept = default;
indexer::~indexer() = default;

bool indexer::wait_for_rows(uint64_t rows, std::chrono::milliseconds timeout) {
  auto& s = *impl_->status;
  std::unique_lock<std::mutex> l(s.mtx);
  const bool ok = s.cv.wait_for(l, timeout, [&] { return s.failed || s.rows >= rows; });
  if (s.failed) std::rethrow_exception(s.failed);
  return ok;
}

uint64_t indexer::updates() const {
  std::lock_guard<std::mutex> g(impl_->status->mtx);
  return impl_->status->updates;
}

}  // namespace serialake
