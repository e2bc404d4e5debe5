#pragma once
// The one error type of serialake: a code a program can branch on and a message a
// person can act on (it names the tensor, index, file or holder involved).

#include <exception>
#include <string>

namespace serialake {

/// What went wrong, coarsely; the message says exactly what.
enum class errc {
  not_found = 1,     ///< no such dataset, tensor, index or version
  already_exists,    ///< create of something that exists
  invalid_argument,  ///< malformed input: bad name, bad shape, bad option
  schema_mismatch,   ///< input does not match the tensor's dtype or fixed shape
  corrupt,           ///< stored bytes fail their checksum or do not parse
  io,                ///< the operating system refused a read, write or sync
  read_only,         ///< a write on a dataset opened read-only
  locked,            ///< another writer holds the dataset lock
  lock_lost,         ///< our lock was broken or taken over; no more commits
  timeout,           ///< a bounded wait ran out
  closed,            ///< the dataset was closed or its writer failed
  unavailable,       ///< a service (lock service, server) cannot be reached
  internal,          ///< a bug: an invariant did not hold
  unauthenticated,   ///< a server refused the call's token (or its lack of one)
};

/// Short stable name of a code, e.g. "schema_mismatch".
const char* to_string(errc code) noexcept;

/// The exception every serialake function throws.
class error : public std::exception {
 public:
  error(errc code, std::string message);
  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "<code>: <message>".
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  errc code_;
  std::string message_;
  std::string what_;
};

/// Throws errc::io with `what` and the text of errno `err` (never the bare OS text).
[[noreturn]] void throw_io(const std::string& what, int err);

}  // namespace serialake
