#pragma once
// One blocking connection to a Redis server (hiredis), with every failure turned
// into a serialake::error naming the server's URI: an unreachable, hung or closed
// server is errc::unavailable; an error reply (a script error, a disabled
// command) is errc::internal with the server's text.

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace serialake::redis {

/// A reply; null pointer for none.
using reply = std::unique_ptr<redisReply, void (*)(void*)>;

/// The connection. Not thread-safe: callers serialize.
class link {
 public:
  /// Connects to host:port within `timeout`, which then bounds every command.
  link(const std::string& uri, const std::string& host, int port, std::chrono::milliseconds timeout);
  link(link&&) noexcept = default;
  link& operator=(link&&) noexcept = default;

  /// Sends every command of `cmds`, then reads one reply per command (one round
  /// trip). Error replies throw errc::internal.
  std::vector<reply> pipeline(const std::vector<std::vector<std::string>>& cmds);
  /// One command.
  reply command(const std::vector<std::string>& cmd);

  /// Sends a command without reading its reply (subscribe mode).
  void send(const std::vector<std::string>& cmd);
  /// Reads what the socket has now, without blocking; false once the server
  /// closed the connection or it failed.
  bool read_available();
  /// The next reply already read, if any (after read_available).
  reply next_buffered();

  /// The socket (for poll).
  int fd() const { return ctx_->fd; }
  const std::string& uri() const { return uri_; }

  /// errc::unavailable: "lock service <uri> ...: <what>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  reply get_reply();
  void append(const std::vector<std::string>& cmd);
  void flush();

  std::string uri_;
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx_;
};

/// The reply's string ("" for nil or a non-string).
std::string text(const redisReply* r);

}  // namespace serialake::redis
