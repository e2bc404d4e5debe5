#pragma once
// The directory walk of `serialake ingest`: which files of SRC_DIR become rows,
// under which stored path and class, and which entries are not stored and why.
//
// SRC_DIR/<class>/<file>: a file in a nested folder belongs to its top-level
// class folder. Symbolic links are followed (a class folder may be a link), but a
// file's stored path is where it lies under SRC_DIR, never the link's target.
// Hidden entries (a name starting with '.') are not data and are passed over
// silently; every other entry that does not yield a file is reported.

#include <string>
#include <vector>

namespace serialake::cli {

/// A file to ingest.
struct source_file {
  std::string file;  ///< path to open (SRC_DIR joined with the raw names)
  std::string rel;   ///< stored path: relative to SRC_DIR, see stored_name()
  std::string cls;   ///< stored class name (the top-level folder, see stored_name())
};

/// An entry of SRC_DIR that yields no file, and why (e.g. "dangling symbolic link").
struct skipped_entry {
  std::string rel;  ///< as stored_name() writes it
  std::string why;
};

/// What a walk found. `files` is sorted by `rel`, `skipped` too.
struct source_tree {
  std::vector<source_file> files;
  std::vector<skipped_entry> skipped;
  size_t class_folders = 0;
};

/// Walks SRC_DIR. Throws not_found if it is not a directory, io if it cannot be
/// listed, invalid_argument if it has no class folder. Anything below SRC_DIR
/// that cannot be listed or read is a skipped_entry, not an error.
source_tree scan_source(const std::string& src);

/// A raw (byte string) name as the dataset's text tensors store it. Valid UTF-8
/// is kept as is. Anything else is written as git writes such paths: in double
/// quotes, with `\\`, `\"` and `\xNN` for each byte that is not UTF-8. A name that
/// itself starts with '"' is quoted too, so no two raw names share a stored name.
std::string stored_name(const std::string& raw);

}  // namespace serialake::cli
