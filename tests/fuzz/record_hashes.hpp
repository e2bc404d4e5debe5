#pragma once
// Makes the body hashes of the records in a commits.log image right again.
//
// A record's body is covered by an XXH3 hash the fuzzer cannot forge, so without
// this almost every mutation of a body stops at "bad hash" and the decoder
// behind it (segments, entries, versions, recovery) is never reached. Harnesses
// choose per input (a flag byte) whether to fix them, so both paths are fuzzed.

#include <cstring>
#include <string>

#include "core/format.hpp"

namespace serialake::fuzz {

/// Rewrites the hash of each record from the start of `log` for as long as the
/// records' extents (head_size, data_len) stay inside it.
inline void fix_record_hashes(std::string& log) {
  size_t pos = 0;
  for (;;) {
    const std::string_view rest = std::string_view(log).substr(pos);
    const size_t head = format::head_size(rest);
    if (head == 0 || head > rest.size()) return;
    const uint64_t h = format::hash(log.data() + pos + format::record_header_size,
                                    head - format::record_header_size);
    std::memcpy(&log[pos + 16], &h, 8);
    uint32_t data_len;
    std::memcpy(&data_len, log.data() + pos + 8, 4);
    if (data_len > rest.size() - head) return;
    pos += head + data_len;
  }
}

}  // namespace serialake::fuzz
