#include "actors/callbacks.hpp"

namespace serialake {

namespace {

callback_actor::behavior_type callback_actor_impl(callback_actor::pointer self) {
  return {
    [](run_atom, const callbacks& c) {
      for (const auto& fn : c.fns) fn();
    },
    [self](close_atom) { self->quit(); },
  };
}

}  // namespace

callback_runner::callback_runner(caf::actor_system& sys) : actor_(sys.spawn(callback_actor_impl)) {}

void callback_runner::post(std::function<void()> fn) {
  std::vector<std::function<void()>> fns;
  fns.push_back(std::move(fn));
  post_all(std::move(fns));
}

void callback_runner::post_all(std::vector<std::function<void()>> fns) {
  std::lock_guard<std::mutex> g(mtx_);
  if (actor_) caf::anon_send(actor_, run_atom::value, callbacks{std::move(fns)});
}

void callback_runner::close() {
  std::lock_guard<std::mutex> g(mtx_);
  if (actor_) caf::anon_send(actor_, close_atom::value);
  actor_ = nullptr;
}

}  // namespace serialake
