#include "actors/callbacks.hpp"

#include <cstdio>
#include <exception>
#include <string>

namespace serialake {

namespace {

// `path`: the dataset's, to name it if a continuation throws.
callback_actor::behavior_type callback_actor_impl(callback_actor::pointer self, const std::string& path) {
  return {
    [path](run_atom, const callbacks& c) {
      for (const auto& fn : c.fns) {
        try {
          fn();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "serialake: a continuation (then()) of dataset %s threw: %s\n", path.c_str(), e.what());
          std::terminate();
        }
      }
    },
    [self](close_atom) { self->quit(); },
  };
}

}  // namespace

callback_runner::callback_runner(caf::actor_system& sys, const std::string& path)
  : actor_(sys.spawn(callback_actor_impl, path)) {}

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
