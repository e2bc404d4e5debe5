// `serialake lock` and `serialake unlock`: the maintenance lock, as Deep Lake's
// lock_dataset / unlock_dataset. A maintenance lock outlives the process that
// took it: writers fail with "locked" (exit 75) until `unlock`.

#include <cstdio>

#include "app/cli/commands.hpp"

namespace serialake::cli {

int run_lock(const lock_args& a) {
  lock_settings s = lock_wait(a.path, a.lock_timeout);
  lock_holder h = chosen_lock(a.lock_uri)->lock(a.path, s);
  std::printf("locked %s for maintenance (%s); writers fail until `serialake unlock %s`\n",
              a.path.c_str(), h.describe().c_str(), a.path.c_str());
  return 0;
}

int run_unlock(const lock_args& a) {
  lock_settings s;
  s.timeout = lock_timeout_ms(a.lock_timeout);
  std::printf("%s\n", chosen_lock(a.lock_uri)->unlock(a.path, a.force, s).c_str());
  return 0;
}

}  // namespace serialake::cli
