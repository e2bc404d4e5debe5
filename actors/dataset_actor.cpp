#include "actors/dataset_actor.hpp"

#include "actors/caf_error.hpp"
#include "actors/notifier.hpp"

namespace serialake {
namespace {

// Runs `f` and hands its result or its error to the waiting thread.
template <class T, class F>
void answer(const reply<T>& r, F&& f) {
  try {
    if constexpr (std::is_same_v<T, ack>) {
      f();
      r->set_value(ack{});
    } else {
      r->set_value(f());
    }
  } catch (const error& e) {
    r->set_error(e);
  } catch (const std::exception& e) {
    r->set_error(error(errc::internal, e.what()));
  }
}

// Runs `f` for a requesting actor: its value, or its error as a caf::error that
// keeps the errc (actors/caf_error.hpp).
template <class F>
auto respond(F&& f) -> caf::result<decltype(f())> {
  try {
    return f();
  } catch (const error& e) {
    return to_caf_error(e);
  } catch (const std::exception& e) {
    return to_caf_error(error(errc::internal, e.what()));
  }
}

}  // namespace

dataset_actor::behavior_type dataset_actor_impl(dataset_actor::stateful_pointer<dataset_state> self,
                                                dataset_init init) {
  self->state.init = std::move(init);
  auto& st = self->state;
  if (st.init.lock)
    st.locker = self->spawn<caf::detached>(lock_actor_impl, st.init.lock,
                                           caf::actor_cast<dataset_actor>(self), st.init.heartbeat);
  auto writer = [self]() -> dataset_writer& { return *self->state.init.writer; };
  auto arm_timer = [self, writer](bool needed) {
    if (needed) self->delayed_send(self, writer().policy().commit_interval, tick_atom::value);
  };
  auto drain = [writer, arm_timer] { arm_timer(writer().drain()); };
  return {
    [self, writer, arm_timer](wake_atom) {
      if (writer().due()) {
        auto r = writer().serve([self] { return !self->mailbox().empty(); });
        arm_timer(r.arm_timer);
        if (r.wake_again) self->send(self, wake_atom::value);
        return;
      }
      if (self->state.drain_armed) return;
      self->state.drain_armed = true;
      self->delayed_send(self, writer().policy().drain_delay, drain_atom::value);
    },
    [self, drain](drain_atom) {
      self->state.drain_armed = false;
      drain();
    },
    [writer](tick_atom) { writer().tick(); },
    [writer, drain](create_atom, const tensor_spec& spec, const reply<ack>& r) {
      drain();
      answer(r, [&] { writer().st().create_tensor(spec); });
    },
    [writer](commit_atom, const std::string& msg, const reply<commit_info>& r) {
      answer(r, [&] { return writer().commit(msg); });
    },
    [writer, drain](log_atom, bool all, const reply<std::vector<commit_info>>& r) {
      drain();
      answer(r, [&] { return writer().st().log(all); });
    },
    [writer, drain](snapshot_atom, const reply<snapshot_ptr>& r) {
      drain();
      answer(r, [&] { return writer().st().snapshot(); });
    },
    [writer](refresh_atom, const reply<bool>& r) {
      answer(r, [&] { return writer().st().refresh(); });
    },
    [writer](tensors_atom, const reply<std::vector<tensor_spec>>& r) {
      answer(r, [&] { return writer().st().tensors(); });
    },
    [self, writer, drain](subscribe_atom, uint64_t id, const commit_subscriber& who, const reply<uint64_t>& r) {
      drain();  // the subscriber hears of commits after the appends queued before it
      auto& notifier = self->state.notifier;
      if (!notifier) {
        notifier = spawn_notifier(self->system(), caf::actor_cast<dataset_actor>(self));
        writer().set_commit_listener(
          [n = notifier](commit_event e) { caf::anon_send(n, notify_atom::value, std::move(e)); });
      }
      caf::anon_send(notifier, subscribe_atom::value, id, who);
      answer(r, [&] { return writer().st().version(); });
    },
    [self](unsub_atom, uint64_t id) {
      if (self->state.notifier) caf::anon_send(self->state.notifier, unsub_atom::value, id);
    },
    [self, writer](lost_atom, const std::string& why) {
      writer().st().fail(error(errc::lock_lost, why));
      self->state.init.lock->release();
    },
    [self, writer](close_atom, const reply<ack>& r) {
      answer(r, [&] {
        // Release the lock only after the last commit, even if that commit
        // fails; close the notifier after that commit's event.
        struct release_after {
          dataset_state& st;
          ~release_after() {
            if (st.locker) caf::anon_send(st.locker, close_atom::value);
            st.locker = nullptr;
            if (st.init.lock) st.init.lock->release();
            if (st.notifier) caf::anon_send(st.notifier, close_atom::value);
            st.notifier = nullptr;
          }
        } guard{self->state};
        writer().close();
      });
      self->quit();
    },
  };
}

lock_actor::behavior_type lock_actor_impl(lock_actor::stateful_pointer<lock_state> self,
                                          std::shared_ptr<dataset_lock> lock, dataset_actor owner,
                                          std::chrono::milliseconds period) {
  self->state.lock = std::move(lock);
  self->state.owner = std::move(owner);
  self->state.period = period;
  self->delayed_send(self, period, tick_atom::value);
  return {
    [self](tick_atom) {
      auto& st = self->state;
      if (!st.owner) return;
      try {
        st.lock->heartbeat();
        self->delayed_send(self, st.period, tick_atom::value);
      } catch (const error& e) {
        caf::anon_send(st.owner, lost_atom::value, e.message());
        st.owner = nullptr;
      }
    },
    [self](close_atom) {
      self->state.owner = nullptr;
      self->quit();
    },
  };
}

reader_actor::behavior_type reader_actor_impl(reader_actor::stateful_pointer<reader_state> self,
                                              snapshot_ptr snap) {
  self->state.snap = std::move(snap);
  return {
    [self](read_atom, const std::string& name, uint64_t index) {
      return respond([&] { return self->state.snap->read(name, index); });
    },
    [self](length_atom, const std::string& name) {
      return respond([&] { return self->state.snap->length(name); });
    },
  };
}

reader_actor spawn_reader(caf::actor_system& sys, snapshot_ptr snap) {
  return sys.spawn<caf::detached>(reader_actor_impl, std::move(snap));
}

}  // namespace serialake
