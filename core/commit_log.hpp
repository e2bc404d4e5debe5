#pragma once
// Reading the commit log back: the records up to the first torn or bad one.

#include <string>
#include <string_view>
#include <vector>

#include "core/format.hpp"

namespace serialake {

/// What a scan of (part of) commits.log found.
struct log_scan {
  std::vector<format::record> records;
  uint64_t valid_end = 0;   ///< offset just past the last good record
  bool torn_tail = false;   ///< bytes after valid_end that are not a record
};

/// Decodes the records in `content` (which starts at file offset `base`, the
/// record after version `last_version`). A torn or bad tail is reported in the
/// result; a bad record followed by a good one, or a version out of sequence,
/// throws corrupt naming `file` and the offset.
log_scan scan_log(std::string_view content, uint64_t base, uint64_t last_version,
                  const std::string& file);

}  // namespace serialake
