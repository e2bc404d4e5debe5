#pragma once
// A client of etcd's v3 JSON gateway (grpc-gateway, etcd 3.4) over libcurl.
//
// Why the gateway and not gRPC: the lock needs five calls (lease grant, keep-alive
// and revoke, txn, range, watch), and the gateway gives them as plain HTTP POSTs
// of JSON, with no generated code (gRPC: etcd's protos stripped of their
// gogoproto options, 38 s of compile) and one small dependency (libcurl).
//
// The gateway's encoding, handled here once: keys and values are base64; int64
// fields are JSON strings; fields with default values are omitted (an empty range
// has no "kvs", a PUT event no "type", a failed txn no "succeeded", an empty
// value no "value").

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serialake/locks/etcd.hpp"

namespace serialake::etcd {

using json = nlohmann::json;

/// Base64 of a key or value, as the gateway wants it.
std::string b64(const std::string& raw);
/// A key or value from the gateway's base64 (a missing field is "").
std::string unb64(const json& field);
/// An int64 field (a JSON string, or absent: 0).
int64_t int_field(const json& obj, const char* name);
/// The end of the range of every key starting with `prefix` (its last byte + 1).
std::string prefix_end(const std::string& prefix);

/// One connection to etcd (kept alive between calls). Not thread-safe.
class client {
 public:
  client(const lock_service_uri& uri, const etcd_options& opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// POSTs `body` to `path` (e.g. "/v3/kv/txn") and returns the answer. Throws
  /// errc::unavailable naming the URI if etcd cannot be reached, does not answer
  /// within the request timeout (or `timeout`, if shorter and not 0), or answers
  /// with an error.
  json call(const std::string& path, const json& body,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// "http://host:port", for a watch's own connection.
  const std::string& base_url() const { return base_; }
  const lock_service_uri& uri() const { return uri_; }
  const etcd_options& options() const { return opts_; }

 private:
  lock_service_uri uri_;
  etcd_options opts_;
  std::string base_;
  void* curl_;  // CURL*, kept out of this header
};

/// Connections to one etcd, kept for reuse: a lock's calls then skip the TCP
/// connect (and the backend's next acquire reuses a released lock's). Thread-safe.
class client_pool : public std::enable_shared_from_this<client_pool> {
 public:
  /// A connection; back to the pool when dropped.
  using handle = std::unique_ptr<client, std::function<void(client*)>>;
  client_pool(lock_service_uri uri, etcd_options opts) : uri_(std::move(uri)), opts_(opts) {}
  handle get();

 private:
  lock_service_uri uri_;
  etcd_options opts_;
  std::mutex mtx_;
  std::vector<std::unique_ptr<client>> idle_;
};

/// Called once before any curl handle is made (curl_global_init is not thread-safe).
void init_curl();

}  // namespace serialake::etcd
