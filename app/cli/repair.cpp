// `serialake repair`: the one command that changes a damaged dataset. It holds
// the maintenance lock, so no writer opens the dataset meanwhile.

#include <cstdio>

#include "app/cli/commands.hpp"
#include "core/store.hpp"

namespace serialake::cli {

int run_repair(const repair_args& a) {
  lock_settings s = lock_wait(a.path, a.lock_timeout);
  auto backend = chosen_lock(a.lock_uri);
  backend->lock(a.path, s);
  repair_report r;
  try {
    r = store::repair(a.path);
  } catch (...) {
    backend->unlock(a.path, false, s);
    throw;
  }
  backend->unlock(a.path, false, s);
  if (!r.damage) {
    std::printf("nothing to repair: %s is not damaged (run `serialake verify` to check every sample)\n",
                a.path.c_str());
    return 0;
  }
  std::printf("damage: %s\n", r.damage->c_str());
  std::printf("kept:   versions 1-%llu\n", static_cast<unsigned long long>(r.kept_version));
  if (r.lost_last) {
    std::printf("lost:   versions %llu-%llu\n", static_cast<unsigned long long>(r.lost_first),
                static_cast<unsigned long long>(r.lost_last));
  } else {
    std::printf("lost:   no version (the damaged bytes held no commit)\n");
  }
  for (auto& [tensor, n] : r.lost_samples)
    std::printf("        %s: %llu samples\n", tensor.c_str(), static_cast<unsigned long long>(n));
  if (!r.lost_known)
    std::printf("        (and the samples of lost commits whose records are unreadable)\n");
  std::printf("moved:  %zu files to %s\n", r.moved.size(), r.moved_to.c_str());
  for (auto& m : r.moved) std::printf("        %s\n", m.c_str());
  return 0;
}

}  // namespace serialake::cli
