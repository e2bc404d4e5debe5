#include "actors/notifier.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace serialake {

void merge_into(commit_event& pending, const commit_event& later) {
  pending.commit = later.commit;
  for (const auto& r : later.ranges) {
    auto it = std::find_if(pending.ranges.begin(), pending.ranges.end(),
                           [&](const tensor_range& p) { return p.tensor == r.tensor; });
    if (it == pending.ranges.end())
      pending.ranges.push_back(r);
    else
      it->end = r.end;
  }
}

namespace {

struct notifier_state {
  struct sub {
    commit_subscriber actor;
    bool busy = false;                     // an event is out, unanswered
    std::optional<commit_event> pending;   // what came meanwhile, merged
  };
  std::map<uint64_t, sub> subs;
  static inline const char* name = "serialake.notifier";
};

using notifier_ptr = notifier_actor::stateful_pointer<notifier_state>;

// Sends `e` to subscriber `id`; its answer sends what came meanwhile.
void send_event(notifier_ptr self, uint64_t id, const commit_event& e) {
  auto& s = self->state.subs[id];
  s.busy = true;
  self->request(s.actor, caf::infinite, notify_atom::value, e)
    .then(
      [self, id](bool) {
        auto it = self->state.subs.find(id);
        if (it == self->state.subs.end()) return;
        if (!it->second.pending) {
          it->second.busy = false;
          return;
        }
        commit_event next = std::move(*it->second.pending);
        it->second.pending.reset();
        send_event(self, id, next);
      },
      [self, id](caf::error&) { self->state.subs.erase(id); });  // the subscriber is gone
}

// Quits when `owner` (its dataset actor) goes, even without a close_atom (a
// dataset actor that died): a notifier left behind would hang the actor
// system's shutdown.
notifier_actor::behavior_type notifier_impl(notifier_ptr self, const dataset_actor& owner) {
  self->monitor(owner);
  self->set_down_handler([self](caf::down_msg&) {
    self->state.subs.clear();
    self->quit();
  });
  return {
    [self](notify_atom, const commit_event& e) {
      for (auto& [id, s] : self->state.subs) {
        if (!s.busy)
          send_event(self, id, e);
        else if (s.pending)
          merge_into(*s.pending, e);
        else
          s.pending = e;
      }
    },
    [self](subscribe_atom, uint64_t id, commit_subscriber who) {
      self->state.subs[id].actor = std::move(who);
    },
    [self](unsub_atom, uint64_t id) { self->state.subs.erase(id); },
    [self](close_atom) {
      // Hand over what is pending (after the event out, in the subscriber's
      // mailbox), drop the subscribers and quit: a subscriber kept alive only
      // by us then goes too, once it has handled its mailbox.
      for (auto& [id, s] : self->state.subs)
        if (s.pending) caf::anon_send(s.actor, notify_atom::value, std::move(*s.pending));
      self->state.subs.clear();
      self->quit();
    },
  };
}

}  // namespace

notifier_actor spawn_notifier(caf::actor_system& sys, const dataset_actor& owner) {
  return sys.spawn(notifier_impl, owner);
}

namespace {
// The subscriber whose fn this thread is running, so that cancel() from inside
// fn does not wait for itself.
thread_local const callback_subscriber* running = nullptr;
}  // namespace

void callback_subscriber::deliver(const commit_event& e) {
  std::lock_guard<std::mutex> g(mtx);
  if (cancelled) return;
  struct mark {  // also if fn throws (the subscriber actor then dies, and is dropped)
    explicit mark(const callback_subscriber* s) { running = s; }
    ~mark() { running = nullptr; }
  } m(this);
  fn(e);
}

void callback_subscriber::cancel() {
  if (running == this) {
    cancelled = true;  // we hold mtx: deliver() is our caller
    return;
  }
  std::lock_guard<std::mutex> g(mtx);
  cancelled = true;
}

namespace {

commit_subscriber::behavior_type callback_subscriber_impl(commit_subscriber::pointer,
                                                          std::shared_ptr<callback_subscriber> sub) {
  return {
    [sub](notify_atom, const commit_event& e) {
      sub->deliver(e);
      return true;
    },
  };
}

}  // namespace

commit_subscriber spawn_callback_subscriber(caf::actor_system& sys, std::shared_ptr<callback_subscriber> sub) {
  return sys.spawn(callback_subscriber_impl, std::move(sub));
}

}  // namespace serialake
