#pragma once
// The `serialake` commands, each a plain function of its parsed arguments so that
// main.cpp only wires CLI11 and maps errors to exit codes.
//
// Commands report failures by throwing serialake::error (mapped to an exit code by
// its errc) or usage_error (exit 64). They print results on stdout and nothing
// else there, so their output can be piped.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "serialake/dataset.hpp"
#include "core/clock.hpp"
#include "serialake/error.hpp"
#include "serialake/remote.hpp"
#include "serialake/types.hpp"

namespace serialake {
class store;
struct remote_options;
}

namespace serialake::cli {

/// A command line that parses but makes no sense (exit 64, EX_USAGE).
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The sysexits code for an error code: 65 bad data or corruption, 66 no such
/// dataset, 73 exists, 74 I/O, 75 locked / timeout / lock lost (try again
/// later), 69 a service unreachable, 77 a server refused our token, 70 anything else.
int exit_code(errc code) noexcept;

/// Opens a dataset read-only: never takes the lock, never writes into the
/// directory, shows the last commit (or `version`).
std::unique_ptr<store> open_read(const std::string& path, std::optional<uint64_t> version);


/// Ends a read-only command: throws corrupt (exit 65) if the dataset's log is
/// damaged, after the command showed what is readable.
void report_damage(const store& s);

/// Seconds (from --lock-timeout) as the engine's milliseconds; usage_error if
/// negative, not a number, or above 1e9 (about 31 years).
std::chrono::milliseconds lock_timeout_ms(double seconds);

/// Lock settings of a command given `--lock-timeout SECONDS`: it waits that long
/// for another holder and, if it has to wait, says so once on stderr
/// ("serialake: waiting up to N s for the lock of PATH, held by ...").
lock_settings lock_wait(const std::string& path, double lock_timeout_seconds);
/// The lock backend of a command: `--lock URI` if given (`lock_uri`), else the
/// SERIALAKE_LOCK environment variable if set and not empty, else the file lock.
/// usage_error naming the option or variable if the URI is malformed.
std::shared_ptr<lock_backend> chosen_lock(const std::string& lock_uri);
/// How a command reaches a server when its PATH is a serialake:// URI.
struct remote_args {
  std::string token_file;  ///< "" : the SERIALAKE_TOKEN environment variable, if set
  std::string tls_ca;      ///< PEM file of the server's CA: TLS
};
/// The client options of a command given a serialake:// PATH: the token of
/// --token-file (else SERIALAKE_TOKEN), --tls-ca.
remote_options client_options(const remote_args& r);

/// The dataset options of a command that writes to `path`: for a directory,
/// lock_wait's settings, locking with chosen_lock(lock_uri); for a
/// serialake:// URI, reaching the server as `r` says (the server holds the
/// lock: usage_error if `lock_uri` or a lock timeout is given).
dataset_options writer_options(const std::string& path, double lock_timeout_seconds,
                               const std::string& lock_uri, const remote_args& r = {});

struct create_args {
  std::string path;
  remote_args remote;
  std::vector<std::string> tensors;  ///< NAME:DTYPE[:HTYPE[:SHAPE]]
};
/// `serialake create`: a new dataset with the given tensors (already_exists if
/// there is one).
int run_create(const create_args& a);

struct append_args {
  std::string path;
  remote_args remote;
  double lock_timeout = 0;
  std::string lock_uri;  ///< --lock URI ("": SERIALAKE_LOCK, else the file lock)
  bool durable = false;
  bool allow_missing = false;  ///< rows may name only some tensors
};
/// `serialake append`: JSON Lines from stdin, all rows committed or none.
int run_append(const append_args& a);

struct commit_args {
  std::string path;
  remote_args remote;
  std::string message;
  double lock_timeout = 0;
  std::string lock_uri;  ///< --lock URI ("": SERIALAKE_LOCK, else the file lock)
};
/// `serialake commit`: a named version of everything committed so far.
int run_commit(const commit_args& a);

struct cat_args {
  std::string path;
  remote_args remote;
  std::vector<std::string> tensors;  ///< empty: all
  uint64_t start = 0;
  std::optional<uint64_t> end;
  std::optional<uint64_t> version;
};
/// `serialake cat`: rows [start, end) as JSON Lines.
int run_cat(const cat_args& a);

struct info_args {
  std::string path;
  remote_args remote;
  bool json = false;
  std::optional<uint64_t> version;
};
/// `serialake info`: tensors, lengths, chunks, bytes, commits.
int run_info(const info_args& a);

struct verify_args {
  std::string path;
  remote_args remote;
  std::optional<uint64_t> version;
};
/// `serialake verify`: every checksum; exit 65 if anything is wrong.
int run_verify(const verify_args& a);

struct export_args {
  std::string path;
  std::string tensor;
  std::string npy;
  std::optional<uint64_t> version;
};
/// `serialake export`: one numeric tensor as a .npy file.
int run_export(const export_args& a);

struct log_args {
  std::string path;
  remote_args remote;
  bool all = false;
};
/// `serialake log`: named commits (all with --all), oldest first.
int run_log(const log_args& a);

struct lock_args {
  std::string path;
  double lock_timeout = 0;
  std::string lock_uri;  ///< --lock URI ("": SERIALAKE_LOCK, else the file lock)
  bool force = false;  ///< unlock: also break a live writer's lock
};
/// `serialake lock`: takes the maintenance lock (held until unlock).
int run_lock(const lock_args& a);
/// `serialake unlock`: releases a maintenance lock or a dead holder's lock; a
/// live writer's only with `force` (its next commit then fails with lock_lost).
int run_unlock(const lock_args& a);

struct repair_args {
  std::string path;
  double lock_timeout = 0;
  std::string lock_uri;  ///< --lock URI ("": SERIALAKE_LOCK, else the file lock)
};
/// `serialake repair`: under the maintenance lock, keeps the good commits before
/// the damage, moves the rest into `<dataset>/damaged-<time>/`, says what was lost.
int run_repair(const repair_args& a);

/// The forms of cat, info and verify for a serialake:// PATH, which read
/// through the server rather than from a snapshot (app/cli/remote_commands.cpp);
/// run_cat, run_info and run_verify call them. The other commands take a URI
/// through the dataset handle (engine::open).
int run_remote_cat(const cat_args& a);
int run_remote_info(const info_args& a);
int run_remote_verify(const verify_args& a);

/// verify's report: each problem on a line, then "ok: ..." or errc::corrupt
/// naming how many problems `path` (at `version`) has.
void report_verify(const std::vector<problem>& problems, const std::string& path, uint64_t version,
                   uint64_t samples, size_t tensors);

/// The specs of `create`'s --tensor arguments; usage_error for a malformed or
/// repeated one.
std::vector<tensor_spec> parse_tensor_args(const std::vector<std::string>& args);

/// Reads JSON Lines rows of `tensors` from stdin, all of them, then hands them
/// to `append` at once (all or nothing); returns how many. Errors name the
/// line (an append's "row K" becomes the line of row K).
uint64_t append_stdin(const std::vector<tensor_spec>& tensors, const std::string& path, bool allow_missing,
                      const std::function<void(std::vector<row>)>& append);

/// cat's output: rows as JSON Lines on stdout, written in blocks of about 1 MiB.
class row_printer {
 public:
  /// Adds row `index`; an encoding error names the row.
  void print(uint64_t index, const std::vector<std::pair<const tensor_spec*, sample>>& fields);
  /// Writes what is buffered and flushes stdout (errc::io if it cannot).
  void flush_out();

 private:
  std::string buf_;
};

/// log's listing of `all` commits (only the named ones unless `unnamed_too`).
void print_log(const std::vector<commit_info>& all, bool unnamed_too);

/// A tensor's fixed shape as info prints it: "variable", "scalar" or "3x224x224".
std::string shape_text(const tensor_spec& s);

/// `text` on one line of a listing (log, info): backslash, newline, CR and tab as
/// \\ \n \r \t, other control characters as \xNN, everything else as it is.
std::string escaped(const std::string& text);

/// Parses a `--tensor NAME:DTYPE[:HTYPE[:SHAPE]]` value; usage_error if malformed.
/// SHAPE is `384`, `3x224x224` or `3,224,224`.
tensor_spec parse_tensor_arg(const std::string& text);

}  // namespace serialake::cli
