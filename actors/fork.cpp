#include "actors/fork.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "serialake/error.hpp"

namespace serialake::detail {

namespace {
std::atomic<uint64_t> forks{0};
// Registered before main: every fork() of this process counts, whoever calls it.
const int fork_hook = pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1, std::memory_order_relaxed); });
}  // namespace

uint64_t fork_generation() noexcept {
  (void)fork_hook;
  return forks.load(std::memory_order_relaxed);
}

void check_not_forked(uint64_t gen, const char* what) {
  if (fork_generation() != gen)
    throw error(errc::closed, std::string(what) + " was opened in the parent of this forked process (pid " +
                                  std::to_string(::getpid()) +
                                  "), whose engine threads are not here: open a new serialake::engine in the child");
}

}  // namespace serialake::detail
