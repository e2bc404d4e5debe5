#pragma once
// `serialake serve`: the gRPC server of service/serialake.proto over the datasets
// under one root directory.

#include <string>

namespace serialake::service {

/// How the server runs (the flags of `serialake serve`).
struct serve_options {
  std::string listen = "127.0.0.1:7433";  ///< host:port; loopback unless told otherwise
  std::string root;                       ///< the datasets' directory (must exist)
  std::string lock_uri;                   ///< redis://, zk:// or etcd://host:port; "" the lock file
  std::string token_file;                 ///< if set, every call must carry this bearer token
  std::string tls_cert, tls_key;          ///< PEM files: serve TLS instead of plaintext
};

/// Serves until SIGTERM or SIGINT, then stops cleanly: it lets running calls
/// finish (up to 10 s, then cancels them), commits and closes every dataset
/// (releasing its lock) and returns 0. Logs with spdlog ("listening on ..."
/// once it accepts calls). Throws serialake::error if it cannot start.
/// REQUIRES: called before the program starts threads (it blocks SIGTERM and
/// SIGINT so that only it receives them).
int serve(const serve_options& opts);

}  // namespace serialake::service
