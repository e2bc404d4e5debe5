#pragma once
// The store's private state, shared by its translation units: store.cpp (the
// public API and the append path), store_recovery.cpp (replaying the log at
// open) and store_commit.cpp (writing a commit). Not part of the public API.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "serialake/error.hpp"
#include "core/commit_log.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/gather_buffer.hpp"
#include "core/log_mark.hpp"
#include "core/schema.hpp"
#include "core/snapshot_data.hpp"
#include "core/store.hpp"
#include "core/tensor_index.hpp"

namespace serialake {
namespace detail {

// A run of uncommitted samples of one tensor in one chunk.
struct pending_seg {
  uint32_t chunk;
  uint64_t start;
  uint64_t first;  // index of the first sample
  uint64_t count;
};

struct tensor_state {
  schema_tensor meta;
  std::vector<std::string> chunks;
  std::unordered_map<std::string, uint32_t> chunk_ids;
  tensor_index index;
  uint64_t committed = 0;
  // Writer side.
  io::file out;           // the open chunk, created by its first write
  std::string out_name;   // its file name (empty: no chunk started yet)
  uint32_t out_chunk = 0;
  uint64_t out_size = 0;  // bytes of the open chunk, written or buffered
  uint64_t next_seq = 0;
  gather_buffer buf{0};   // bytes not yet written to `out`
  std::vector<pending_seg> segs;
  uint64_t pending = 0;          // bytes appended since the last commit
  std::vector<io::file> sealed;  // chunks sealed since the last commit, unsynced
  bool dir_dirty = false;        // a chunk file was created since the last commit

  uint32_t chunk_id(const std::string& name) {
    auto it = chunk_ids.find(name);
    if (it != chunk_ids.end()) return it->second;
    auto id = static_cast<uint32_t>(chunks.size());
    chunks.push_back(name);
    chunk_ids.emplace(name, id);
    return id;
  }
};

}  // namespace detail

struct store::impl {
  using tensor_state = detail::tensor_state;
  using pending_seg = detail::pending_seg;

  std::string dir;
  bool ro = false;
  bool pinned = false;  // opened at an older version
  store_options opts;
  std::vector<tensor_state> tensors;
  std::unordered_map<std::string, size_t> by_name;
  uint64_t version = 0;
  std::vector<commit_info> infos;
  io::file log;
  uint64_t log_end = 0;  // bytes of the log consumed (read-only) or written
  std::string writer_id;
  uint64_t lock_gen = 0;
  std::function<void()> fence;
  std::optional<error> failed;
  std::optional<uint64_t> dropped;
  std::optional<log_mark> mark;        // as read at open
  bool closed = false;                 // close() was called: no more writes
  std::optional<std::string> damage;   // read-only: what damage hides the rest of the log
  uint64_t pending_samples = 0;
  // The last commit's new samples: (tensor number, first new index) per tensor
  // that gained any; each ends at that tensor's `committed`.
  std::vector<std::pair<size_t, uint64_t>> last_ranges;
  std::string scratch;
  io::sync_group syncs;
  std::shared_ptr<chunk_files> files;
  mutable std::shared_ptr<const serialake::snapshot> snap;

  std::string tensor_dir(const std::string& name) const {
    return dir + "/" + format::chunk_dir + "/" + name;
  }

  void check_writable() {
    if (ro)
      throw error(errc::read_only, "dataset " + dir + " is open read-only");
    if (failed) throw error(failed->code(), "dataset " + dir + " refuses writes after an earlier failure: " + failed->message());
    // close() removed the chunk files of uncommitted appends (and may have
    // failed halfway): a commit now would name them.
    if (closed) throw error(errc::closed, "dataset " + dir + " is closed");
  }

  tensor_state& find(std::string_view name) {
    auto it = by_name.find(std::string(name));
    if (it == by_name.end())
      throw error(errc::not_found, "no tensor '" + std::string(name) + "' in " + dir);
    return tensors[it->second];
  }

  void add_tensor(const schema_tensor& st) {
    by_name.emplace(st.spec.name, tensors.size());
    tensors.emplace_back();
    tensors.back().meta = st;
    tensors.back().buf = gather_buffer(opts.write_buffer_bytes);
  }

  // Replays committed records into the in-memory index.
  void apply(const format::record& r);
  // The last record may reference bytes that never reached the disk (its sync
  // had not finished): true if a sample it names is missing (no file, file too
  // short) or reads back as zeros with a wrong hash, which is what a crash leaves
  // of unsynced appends. Full-length bytes with a wrong hash are damage, not a
  // torn commit: the commit stays and that sample reads as corrupt (dropping
  // the commit would hide the damage and lose its good samples).
  bool unsynced(const format::record& r);
  void load(std::optional<uint64_t> at);
  // What is wrong with `scan` against the mark, if anything (see log_mark.hpp).
  std::optional<std::string> judge(const log_scan& scan, bool mark_reread);
  // Writers: cuts a torn tail, removes the dead session's orphans and records
  // this session's open in the mark. REQUIRES: the log's flock.
  void start_session(uint64_t log_size);
  // Removes chunk files that no commit references, named `<session>-<seq>.chk`
  // by the writer session the mark says died: its unacknowledged bytes. Only
  // with the write lock held, and never while the log is damaged (a writer
  // refuses to open then).
  void remove_orphans(const std::string& session);
  // Records the log's state in commits.mark.
  void write_mark_now(bool open_session);
  void flush_buffer(tensor_state& t);
  void roll(tensor_state& t);
  // REQUIRES: `s` passed check_sample for `t`. With `take`, s.data may be moved from.
  uint64_t append_checked(tensor_state& t, sample& s, bool take);
  void check_size(const tensor_state& t, const sample& s);
  // True if every pending sample is still in the write buffers and they hold at
  // most one buffer's worth: the commit can then carry them in the log record.
  bool can_inline() const;
  format::segment segment_of(const tensor_state& t, const pending_seg& ps, bool inlined) const;
  // Small commit: record and samples go to the log in one writev; one file to
  // sync. The samples' index entries then point into the log.
  void write_inline(format::record& r);
  // Larger commit: chunk bytes first, then the record; chunks and log synced together.
  void write_chunked(format::record& r);
  // Throws lock_lost unless the log still ends at log_end and the lock is ours.
  // REQUIRES: the log's flock.
  void check_fence();
  commit_info do_commit(const std::string& message);
};

}  // namespace serialake
