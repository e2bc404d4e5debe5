#pragma once
// Reading the commit log back: the records up to the first torn or bad one, and
// what lies after them.

#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "core/format.hpp"

namespace serialake {

/// What follows the last good record of a scan.
enum class log_tail {
  none,     ///< the log ends exactly after a record
  torn,     ///< a prefix of one record, or zeros: what a writer dying mid-commit leaves
  damaged,  ///< anything else: bytes that no append could have left
};

/// What a scan of (part of) commits.log found.
struct log_scan {
  std::vector<format::record> records;
  std::vector<uint64_t> offsets;  ///< where each record starts
  uint64_t valid_end = 0;         ///< offset just past the last good record
  uint64_t size = 0;              ///< the log's size when scanned
  log_tail tail = log_tail::none;
  std::string damage;             ///< for damaged: what is wrong, naming file and offset
};

/// Decodes the records of `log` from offset `from` (the record after version
/// `last_version`), reading headers and bodies but skipping records' sample data.
/// Stops at the first record that does not decode, or whose version is out of
/// sequence, and classifies the rest (see log_tail). Throws only io.
log_scan scan_log(const io::file& log, uint64_t from, uint64_t last_version);

/// Every well-formed record (good magic and body hash) found anywhere in `log`
/// after offset `from`, by searching for the magic: what `repair` can still tell
/// about commits past the damage. Reads the rest of the log into memory.
std::vector<format::record> salvage_records(const io::file& log, uint64_t from);

}  // namespace serialake
