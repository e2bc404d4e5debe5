// The registry of dataset backends by URI scheme (actors/backend.hpp).

#include "actors/backend.hpp"

#include <map>
#include <mutex>

namespace serialake::detail {
namespace {

struct backends {
  std::mutex mtx;
  std::map<std::string, backend_factory> by_scheme;
};

backends& all() {
  static backends b;
  return b;
}

}  // namespace

void register_backend(const std::string& scheme, backend_factory make) {
  std::lock_guard<std::mutex> g(all().mtx);
  all().by_scheme[scheme] = std::move(make);
}

backend_factory backend_for(const std::string& uri) {
  std::lock_guard<std::mutex> g(all().mtx);
  for (auto& [scheme, make] : all().by_scheme)
    if (uri.compare(0, scheme.size(), scheme) == 0) return make;
  return nullptr;
}

}  // namespace serialake::detail
