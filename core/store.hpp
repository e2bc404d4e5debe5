#pragma once
// The single-threaded dataset store: the only code that writes a dataset's files.
//
// Threading: NOT thread-safe. One owner (the dataset actor, or a test, or a
// program behind its own mutex) calls every method. What it hands out is safe to
// share: snapshot() returns an immutable view readable from any thread while the
// owner keeps appending and committing.
//
// Crash contract: after a crash at any moment, open() shows exactly the last
// commit whose commit() returned; samples appended after it are gone, never half
// there. The bytes are documented in core/format.hpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serialake/error.hpp"
#include "serialake/options.hpp"
#include "serialake/snapshot.hpp"
#include "serialake/types.hpp"

namespace serialake {

/// How to open an existing dataset.
struct open_options {
  /// Never write into the dataset directory; see the last commit (refresh() for newer).
  bool read_only = false;
  /// Open this older version instead of the latest (implies read_only).
  std::optional<uint64_t> version;
  store_options tuning;
  /// Writers: the lock check (e.g. dataset_lock::check), run under the log's
  /// flock after the scan and before recovery changes any file, and before each
  /// commit; it throws (lock_lost) to refuse. Unset: no lock is checked.
  std::function<void()> fence;
};

/// What store::repair found and did.
struct repair_report {
  std::optional<std::string> damage;  ///< what was wrong (nullopt: nothing to repair)
  uint64_t kept_version = 0;          ///< the last commit kept
  uint64_t lost_first = 0;            ///< lost versions: [lost_first, lost_last]
  uint64_t lost_last = 0;             ///< (0, 0 if no version number was lost)
  /// Samples per tensor of the lost commits whose records could still be read.
  std::vector<std::pair<std::string, uint64_t>> lost_samples;
  bool lost_known = true;             ///< every lost commit's record could be read
  std::string moved_to;               ///< the damaged-<time> folder
  std::vector<std::string> moved;     ///< what went there, relative to the dataset
};

/// A dataset directory opened for writing or reading.
class store {
 public:
  /// Creates a new dataset at `path` (which must not exist, or be an empty
  /// directory) with `tensors`, atomically: of several concurrent creators
  /// exactly one succeeds and the others get already_exists; a create that
  /// fails before the dataset is in place leaves nothing behind, one that fails
  /// after (syncing the parent directory, opening it) leaves it empty, as if
  /// created and not opened: once in place, another process may have it open.
  /// Opens it for writing.
  static std::unique_ptr<store> create(const std::string& path, const store_options& opts = {},
                                       const std::vector<tensor_spec>& tensors = {});
  /// As create, without opening it (the caller opens it under the dataset lock).
  static void initialize(const std::string& path, const std::vector<tensor_spec>& tensors = {});
  /// Opens an existing dataset; throws not_found, corrupt or io. A writer
  /// refuses a damaged log (corrupt, naming file and offset); a reader shows
  /// the commits before the damage and reports it in damage().
  static std::unique_ptr<store> open(const std::string& path, const open_options& opts = {});
  /// Repairs a damaged log: keeps every good commit before the damage, moves
  /// (never deletes) commits.log and the chunk files no kept commit references
  /// into `<path>/damaged-<time>/`, writes the kept commits as the new log, and
  /// says what was lost. Does nothing if there is no damage.
  /// REQUIRES: no writer has the dataset open (hold the maintenance lock).
  static repair_report repair(const std::string& path);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  const std::string& path() const noexcept;
  bool read_only() const noexcept;
  /// The last commit (0 if none).
  uint64_t version() const noexcept;
  /// Tensors in creation order.
  std::vector<tensor_spec> tensors() const;

  /// Adds a tensor; durable when it returns (schema changes are not versioned
  /// data, see format.hpp). Throws already_exists, invalid_argument, read_only.
  void create_tensor(const tensor_spec& spec);
  /// Appends one sample; returns its index in the tensor. Visible after commit().
  /// Throws not_found (tensor), schema_mismatch, invalid_argument, read_only; on
  /// a throw nothing was appended.
  uint64_t append(std::string_view tensor, const sample& s);
  /// As above, taking the sample's bytes instead of copying them (large ones
  /// then reach the file with writev, without a copy).
  uint64_t append(std::string_view tensor, sample&& s);
  /// Appends one sample to each named tensor, all in the same commit; checks all
  /// before writing any. Returns the index of the first tensor's new sample.
  uint64_t append_row(const row& r);
  /// Appends several rows, all or nothing: every sample is checked before any is
  /// written, and an error names the row (0-based) and tensor. Returns the first
  /// row's index (as append_row).
  uint64_t append_rows(const std::vector<row>& rows);
  uint64_t append_rows(std::vector<row>&& rows);
  /// Appends samples to one tensor, all or nothing; returns the first's index.
  uint64_t append_batch(std::string_view tensor, const std::vector<sample>& samples);
  uint64_t append_batch(std::string_view tensor, std::vector<sample>&& samples);
  /// Bytes appended since the last commit.
  uint64_t pending_bytes() const noexcept;
  /// Samples appended since the last commit.
  uint64_t pending_samples() const noexcept;
  /// Makes everything appended so far durable and visible as one new version
  /// (one round of fdatasync). With nothing appended and no message it is a
  /// no-op returning the last commit. After a failure here the store refuses
  /// every later write with that error: nothing is retried.
  commit_info commit(const std::string& message = {});
  /// What the last commit this store made added, per tensor that gained samples
  /// (empty before the first, and for a commit of nothing new).
  std::vector<tensor_range> last_commit_ranges() const;
  /// Commits, newest last; only named ones (with a message) unless `all`.
  std::vector<commit_info> log(bool all = false) const;
  /// The last commit as an immutable view (cached until the next commit).
  std::shared_ptr<const serialake::snapshot> snapshot() const;
  /// Checks every sample of the last commit against its checksum.
  std::vector<problem> verify() const;
  /// Read-only stores: picks up commits and tensors added by another writer.
  /// Returns true if the version changed.
  bool refresh();
  /// The fencing generation recorded in each commit (from the lock).
  void set_lock_generation(uint64_t gen) noexcept;
  /// Refuses every later write with `e` (e.g. the lock was lost). Keeps the first error.
  void fail(const error& e);
  /// The version of a last commit that open() left out because its bytes never
  /// reached the disk (a writer crashed during that commit), if any.
  std::optional<uint64_t> dropped_commit() const noexcept;
  /// Read-only stores: what damage in the log hides commits after the ones shown.
  std::optional<std::string> damage() const;
  /// Ends a writer session cleanly: records the log's extent in commits.mark,
  /// so that later damage to what is committed is detected. Does not commit.
  /// Idempotent; the destructor does it too (and a crash skips it, which is safe).
  /// Later writes throw errc::closed, also after a close that failed.
  void close();
  /// The fencing generation of the last commit (0 if none).
  uint64_t last_lock_generation() const noexcept;

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> i);
  // `take`: the samples' bytes may be moved from (const_cast is safe otherwise).
  uint64_t append_one(std::string_view tensor, sample& s, bool take);
  uint64_t append_rows(row* rows, size_t n, bool take);
  uint64_t append_batch(std::string_view tensor, std::vector<sample>& samples, bool take);
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
