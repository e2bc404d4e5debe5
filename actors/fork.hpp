#pragma once
// Fork detection for the handle side (see actors/dataset_shared.hpp, "Fork").

#include <cstdint>

namespace serialake::detail {

/// How many times this process is a fork of the one before (0 in the first).
uint64_t fork_generation() noexcept;
/// Throws errc::closed if this process was forked after `gen` (`what`: the
/// object used, e.g. "this dataset"), telling to open a new engine in the child.
void check_not_forked(uint64_t gen, const char* what);

}  // namespace serialake::detail
