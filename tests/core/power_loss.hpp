#pragma once
// A model of what a power loss keeps of a directory tree, fed by the file
// layer's fault hook (core/file_io.hpp), after LevelDB's fault_injection_test.
//
// Unlike SIGKILL, a power loss loses the page cache. The model keeps, per file,
// its content at its last fsync, and per directory, its entries at its last
// fsync. A simulated crash keeps exactly that: unsynced bytes are dropped, a
// file whose name was never synced into its directory is gone, and a rename
// not synced into its directory is undone (the old name comes back with its
// synced content). A file created before the model started counts as synced.
//
// A second image keeps every name as it is at the crash (creates, renames and
// removes reached the disk in order, as a journaling file system may write
// them) but still only synced content: a rename of a file whose content was
// never synced then exposes an empty file.
//
// Crash points are the calls after which the model's image can change: each
// sync (file or directory), each rename, each new file or directory.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/file_io.hpp"

namespace serialake::test {

/// Watches every file-layer call under `root` while alive (a fault_guard).
class power_loss {
 public:
  /// Counts of crash points by kind.
  struct counts {
    uint64_t file_syncs = 0, dir_syncs = 0, renames = 0, new_files = 0;
    /// Syncs by what was synced, relative to root: "ds/commits.log",
    /// "ds/chunks/x/<chunk>", "<root>" (the parent of a new dataset), ...
    std::map<std::string, uint64_t> syncs_of;
    uint64_t total() const { return file_syncs + dir_syncs + renames + new_files; }
    /// syncs_of as "what: n" lines.
    std::string sync_list() const;
  };

  explicit power_loss(std::string root);
  ~power_loss();
  power_loss(const power_loss&) = delete;
  power_loss& operator=(const power_loss&) = delete;

  /// Crash points seen so far.
  counts seen() const;
  /// At the `k`-th crash point (1-based), right after it, writes what a power
  /// loss would leave of `root` to `synced_dir` (only synced names) and to
  /// `names_dir` (every name as it is then); both must not exist.
  void crash_after(uint64_t k, std::string synced_dir, std::string names_dir);
  /// True once crash_after's point was reached and the images were written.
  bool crashed() const;

  struct model;  // defined in power_loss.cpp

 private:
  std::unique_ptr<model> m_;
  io::fault_guard guard_;
};

}  // namespace serialake::test
