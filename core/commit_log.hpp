#pragma once
// Reading the commit log back: the records up to the first torn or bad one.

#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "core/format.hpp"

namespace serialake {

/// What a scan of (part of) commits.log found.
struct log_scan {
  std::vector<format::record> records;
  std::vector<uint64_t> offsets;  ///< where each record starts
  uint64_t valid_end = 0;         ///< offset just past the last good record
  bool torn_tail = false;         ///< bytes after valid_end that are not a record
};

/// Decodes the records of `log` from offset `from` (the record after version
/// `last_version`), reading headers and bodies but skipping records' sample data.
/// A torn or bad tail is reported in the result; a bad record followed by a good
/// one, or a version out of sequence, throws corrupt naming the file and offset.
log_scan scan_log(const io::file& log, uint64_t from, uint64_t last_version);

}  // namespace serialake
