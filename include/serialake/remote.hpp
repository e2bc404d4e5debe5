#pragma once
// A dataset served by `serialake serve`, reached over gRPC at
// serialake://host:port/NAME (the contract: service/serialake.proto). The
// library serialake_remote implements it (installed: find_package(serialake),
// target serialake::remote). After enable_remote(), engine::open opens such a
// URI as an ordinary dataset handle (the usual way in); remote_dataset is the
// client under it, for what the handle does not serve: reading rows (read),
// info, verify and search.
//
//   serialake::remote_options o;
//   o.token = serialake::remote_token("");      // SERIALAKE_TOKEN, if set
//   serialake::remote_dataset ds("serialake://127.0.0.1:7433/photos", o);
//   auto f = ds.append_row({{"label", serialake::sample::scalar<int64_t>(serialake::dtype::int64, 3)}});
//   ds.flush();   // everything appended so far is committed on the server
//
// It has the method names of the local dataset handle. Appends are batched:
// one thread sends whatever rows queued up while the previous batch was on its
// way, so a stream of small appends costs far less than a round trip each. A
// batch's rows are applied together (all or none) and get consecutive indices.
//
// Threading: every method may be called from any thread at once. Futures of
// appends complete on the handle's receiving thread, in the order the server
// acknowledges them; continuations (then) run there too, so they must be short.
//
// Failures: a server that goes away fails every unacknowledged append (and the
// handle's later calls) with errc::unavailable; acknowledged appends stay. A
// unary call (flush, commit, log, info) taking longer than `deadline` fails
// with errc::timeout; a refused token with errc::unauthenticated.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serialake/future.hpp"
#include "serialake/search.hpp"
#include "serialake/snapshot.hpp"
#include "serialake/types.hpp"

namespace serialake {

/// Lets engine::open open serialake:// URIs (serialake/dataset.hpp): the
/// dataset handle it returns then works through the server, with this client.
/// Call it once, before such an open (again is harmless). A program that never
/// calls it links no gRPC: the dataset library does not depend on this one.
void enable_remote();

/// True if `path` is a serialake:// URI (rather than a directory).
bool is_remote_uri(std::string_view path) noexcept;

/// The token a client sends: the content of `token_file` (trailing whitespace
/// dropped) if given, else the SERIALAKE_TOKEN environment variable, else "".
/// Throws errc::io naming an unreadable file.
std::string remote_token(const std::string& token_file);

/// How a client reaches a server.
struct remote_options {
  std::string token;                          ///< bearer token; "" sends none
  std::string tls_ca;                         ///< PEM file of the server's CA: TLS; "" plaintext
  std::chrono::milliseconds deadline{30000};  ///< bound on each unary call
  bool durable = false;                       ///< appends complete once on the server's disk
  size_t batch_bytes = 1u << 20;              ///< most bytes of rows per batch sent
  /// Bytes of rows queued or sent but not yet acknowledged; an append waits
  /// (at most `deadline`, then errc::timeout) while more are outstanding.
  size_t window_bytes = 16u << 20;
};

/// A tensor and its committed length, as info() reports them.
struct remote_tensor {
  tensor_spec spec;
  uint64_t length = 0;
};

/// What info() reports.
struct remote_info {
  uint64_t version = 0;  ///< the last commit (0: none)
  std::vector<remote_tensor> tensors;
};

/// What verify() reports.
struct remote_verify {
  uint64_t version = 0;  ///< the commit checked
  uint64_t samples = 0;  ///< samples checked, all tensors
  uint64_t tensors = 0;
  std::vector<problem> problems;  ///< as snapshot::verify names them (files on the server)
};

namespace detail {
class remote_backend;
}

/// A handle to one dataset on a server. Move-only.
class remote_dataset {
 public:
  /// Creates the dataset at `uri` with `tensors` (errc::already_exists if there is one).
  static void create(const std::string& uri, const std::vector<tensor_spec>& tensors,
                     const remote_options& opts = {});

  /// Connects to the dataset at `uri` (errc::not_found if the server has none,
  /// invalid_argument for a malformed URI or a name leaving the server's root).
  explicit remote_dataset(const std::string& uri, remote_options opts = {});
  remote_dataset(remote_dataset&&) noexcept;
  remote_dataset& operator=(remote_dataset&&) noexcept;
  /// Waits for every append's acknowledgement (see close), never throws.
  ~remote_dataset();

  /// The URI as given.
  const std::string& uri() const;

  /// Queues one row; the future holds its index once the server acknowledged it.
  future<uint64_t> append_row(row r);
  /// Queues several rows as one append: sent in one batch (even past
  /// batch_bytes), applied all or none; the future holds the first row's index.
  future<uint64_t> append_rows(std::vector<row> rows);
  /// Queues one sample of one tensor.
  future<uint64_t> append(std::string tensor, sample s);
  /// Waits for every append made before it, then commits; durable when it returns.
  commit_info flush();
  /// Like flush, as a named version kept in the log.
  commit_info commit(const std::string& message);
  /// Named commits (all with `all`), oldest first.
  std::vector<commit_info> log(bool all = false);
  /// Adds a tensor (durable when it returns); errors as dataset::create_tensor.
  void create_tensor(const tensor_spec& spec);
  /// The last commit's version, tensors and lengths.
  remote_info info();
  /// Has the server read every sample of the last commit and check its
  /// checksum (snapshot::verify); returns what it found (none: all good).
  remote_verify verify();
  /// The tensors' specs.
  std::vector<tensor_spec> tensors();
  /// Calls `fn(index, row)` for rows [start, end) of the last commit (end: the
  /// longest tensor's length if unset), in order; a row holds the `only`
  /// tensors (all if empty) that have a sample at its index.
  void read(uint64_t start, std::optional<uint64_t> end, const std::vector<std::string>& only,
            const std::function<void(uint64_t, row&)>& fn);
  /// Top-k of each query over embedding tensor `tensor` of the server's last
  /// commit, as serialake::search (search.hpp) answers and throws, and
  /// errc::unavailable if the server runs too many searches already. Bounded
  /// by `deadline`.
  std::vector<std::vector<hit>> search(std::string_view tensor, const std::vector<std::vector<float>>& queries,
                                       const search_options& o = {});
  /// Waits for every append's acknowledgement and ends the stream; rethrows
  /// the error that broke it, if any. Idempotent.
  void close();

 private:
  friend class detail::remote_backend;  // the dataset handle's remote side (service/remote_backend.cpp)
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace serialake
