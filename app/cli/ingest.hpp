#pragma once
// `serialake ingest SRC_DIR PATH`: an image-folder tree (SRC_DIR/<class>/<file>,
// files in nested folders belong to their top-level class) into a dataset. The
// walk (which files, their stored paths, what is skipped) is ingest_scan.hpp.
//
// The dataset gets (or must already have) four tensors:
//   file         bytes, htype image     the file's bytes, unchanged
//   label        int64, class_label     index into class_names
//   path         text                   where the file lies under SRC_DIR
//   class_names  text, class_names      one sample per class; label i is sample i
// All four are checked before any is created: a dataset with other tensors of
// those names is refused unchanged. Classes keep the labels the dataset already
// has; a new class is added with its first stored file, so a class with no
// stored file is not recorded.
//
// N reader threads read files in parallel into a bounded reorder window; one
// thread appends a row per file in sorted-path order, so the rows are the same
// for any thread count. Not all-or-nothing: rows are committed as the buffered
// policy decides and on the final flush. --resume skips paths the last commit
// already holds, so a rerun after a failure adds only the rest. Entries that
// are not stored are named and make the exit status 65; a failing dataset stops
// the run and the summary says how many files were committed.
//
// PATH may be a serialake:// URI: the rows go through the dataset handle to the
// server (which creates the dataset and its tensors), and what the dataset
// already holds (labels, paths for --resume) is read through the server.

#include <string>

#include "app/cli/commands.hpp"

namespace serialake::cli {

struct ingest_args {
  std::string src;
  std::string path;     ///< a directory, or serialake://host:port/NAME
  remote_args remote;
  unsigned threads = 4;
  double lock_timeout = 0;
  std::string lock_uri;  ///< --lock URI ("": SERIALAKE_LOCK, else the file lock)
  bool resume = false;  ///< skip files whose path the dataset already stores
};

/// Runs an ingest; prints a progress bar on stderr if it is a terminal, a
/// one-line summary on stdout and each entry not stored on stderr. Throws
/// serialake::error (or usage_error) on failure: invalid_argument (exit 65) if
/// any entry was not stored, the dataset's error if it stopped the run.
int run_ingest(const ingest_args& a);

}  // namespace serialake::cli
