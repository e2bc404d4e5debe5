#include "actors/dataset_actor.hpp"

namespace serialake {
namespace {

// Runs `f` and hands its result or its error to the waiting thread.
template <class T, class F>
void answer(const reply<T>& r, F&& f) {
  try {
    if constexpr (std::is_void_v<T>) {
      f();
      r->set_value();
    } else {
      r->set_value(f());
    }
  } catch (const error&) {
    r->set_exception(std::current_exception());
  } catch (const std::exception& e) {
    r->set_exception(std::make_exception_ptr(error(errc::internal, e.what())));
  }
}

}  // namespace

dataset_actor::behavior_type dataset_actor_impl(dataset_actor::stateful_pointer<dataset_state> self,
                                                std::shared_ptr<dataset_writer> writer,
                                                std::chrono::milliseconds commit_interval) {
  self->state.writer = std::move(writer);
  self->state.commit_interval = commit_interval;
  auto drain = [self] {
    if (self->state.writer->drain())
      self->delayed_send(self, self->state.commit_interval, tick_atom::value);
  };
  return {
    [drain](drain_atom) { drain(); },
    [self](tick_atom) { self->state.writer->tick(); },
    [self, drain](create_atom, const tensor_spec& spec, const reply<void>& r) {
      drain();
      answer(r, [&] { self->state.writer->st().create_tensor(spec); });
    },
    [self](commit_atom, const std::string& msg, const reply<commit_info>& r) {
      answer(r, [&] { return self->state.writer->commit(msg); });
    },
    [self, drain](log_atom, bool all, const reply<std::vector<commit_info>>& r) {
      drain();
      answer(r, [&] { return self->state.writer->st().log(all); });
    },
    [self, drain](snapshot_atom, const reply<snapshot_ptr>& r) {
      drain();
      answer(r, [&] { return self->state.writer->st().snapshot(); });
    },
    [self](refresh_atom, const reply<bool>& r) {
      answer(r, [&] { return self->state.writer->st().refresh(); });
    },
    [self](tensors_atom, const reply<std::vector<tensor_spec>>& r) {
      answer(r, [&] { return self->state.writer->st().tensors(); });
    },
    [self](close_atom, const reply<void>& r) {
      answer(r, [&] { self->state.writer->close(); });
      self->quit();
    },
  };
}

reader_actor::behavior_type reader_actor_impl(reader_actor::stateful_pointer<reader_state> self,
                                              snapshot_ptr snap) {
  self->state.snap = std::move(snap);
  return {
    [self](read_atom, const std::string& name, uint64_t index) -> caf::result<sample> {
      try {
        return self->state.snap->read(name, index);
      } catch (const error& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
    [self](length_atom, const std::string& name) -> caf::result<uint64_t> {
      try {
        return self->state.snap->length(name);
      } catch (const error& e) {
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
    },
  };
}

reader_actor spawn_reader(caf::actor_system& sys, snapshot_ptr snap) {
  return sys.spawn<caf::detached>(reader_actor_impl, std::move(snap));
}

}  // namespace serialake
