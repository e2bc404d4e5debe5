#pragma once
// commits.mark: how far commits.log reached when a writer last opened or closed
// the dataset. It is what tells a torn tail from damage.
//
// A crash can only tear the record a writer was appending when it died, and only
// while it held the dataset open. So the log must always reach at least the length
// and version the mark records, and bytes after the last whole record are a torn
// tail only while the mark says a writer session is open (it died, or it is
// writing now). Anything else (a log shorter than the mark, a tail after a clean
// close, bytes that are not the prefix of one record) is damage: writers refuse
// to open, readers show the commits before it and report it, `serialake repair`
// keeps those commits and moves the rest aside.
//
// Bytes (JSON, replaced atomically: temp file, fsync, rename; then fsync dir for
// an open mark):
//   {"version": V, "log_bytes": L, "session": "<writer id>", "open": true|false,
//    "time_ms": T}
// written by the lock holder, under the log's OS lock (see store_commit.cpp):
//   at a writer's open, after recovery:  open: true,  session: its writer id
//   at its clean close, after the last commit: open: false
// `session` of an open mark names the writer whose unreferenced chunk files
// (`<session>-<seq>.chk`) the next writer may delete: it is known dead then, as
// the next writer holds the lock.

#include <cstdint>
#include <optional>
#include <string>

namespace serialake {

/// The content of commits.mark.
struct log_mark {
  uint64_t version = 0;    ///< the last commit then
  uint64_t log_bytes = 0;  ///< commits.log's length then (a record boundary)
  std::string session;     ///< the writer id of the session that wrote it
  bool open = false;       ///< a writer session was open (true) or closed cleanly
  int64_t time_ms = 0;
};

/// Reads `dir`/commits.mark: nullopt if it is missing; throws corrupt naming the
/// file if it does not parse.
std::optional<log_mark> read_mark(const std::string& dir);

/// Replaces `dir`/commits.mark atomically. An open mark is durable when this
/// returns (a torn tail is forgiven only after one). A closed mark need not be:
/// if a crash loses it, the open mark before it stays, which only makes the next
/// open more lenient (one directory sync less per session).
void write_mark(const std::string& dir, const log_mark& m);

}  // namespace serialake
