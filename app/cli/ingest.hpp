#pragma once
// `serialake ingest SRC_DIR PATH`: an image-folder tree (SRC_DIR/<class>/<file>,
// files in nested folders belong to their top-level class) into a dataset.
//
// The dataset gets (or must already have) four tensors:
//   file         bytes, htype image     the file's bytes, unchanged
//   label        int64, class_label     index into class_names
//   path         text                   the file's path relative to SRC_DIR
//   class_names  text, class_names      one sample per class; label i is sample i
// Class names are the sorted subfolder names; ingesting into a dataset that
// already has classes keeps their labels and appends only new names.
//
// N reader threads take files from a shared list, read them and append a row each
// through one dataset handle (one dataset actor). Not all-or-nothing: rows are
// committed as the buffered policy decides and on the final flush; files that
// fail are reported and the exit status says so.

#include <string>

namespace serialake::cli {

struct ingest_args {
  std::string src;
  std::string path;
  unsigned threads = 4;
  double lock_timeout = 0;
};

/// Runs an ingest; prints a progress bar on stderr if it is a terminal and a
/// one-line summary on stdout. Throws serialake::error (or usage_error) on failure.
int run_ingest(const ingest_args& a);

}  // namespace serialake::cli
