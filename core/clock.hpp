#pragma once
// Wall-clock time as the format and the lock record it: ms since the epoch.

#include <cstdint>
#include <string>

namespace serialake {

/// Now, in ms since the Unix epoch.
int64_t now_ms();
/// "2026-11-25T04:13:50Z" for a time in ms since the epoch (UTC).
std::string iso_time(int64_t ms);

}  // namespace serialake
