#include "serialake/error.hpp"

#include <cstring>

namespace serialake {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::invalid_argument: return "invalid_argument";
    case errc::schema_mismatch: return "schema_mismatch";
    case errc::corrupt: return "corrupt";
    case errc::io: return "io";
    case errc::read_only: return "read_only";
    case errc::locked: return "locked";
    case errc::lock_lost: return "lock_lost";
    case errc::timeout: return "timeout";
    case errc::closed: return "closed";
    case errc::unavailable: return "unavailable";
    case errc::internal: return "internal";
    case errc::unauthenticated: return "unauthenticated";
  }
  return "unknown";
}

error::error(errc code, std::string message)
  : code_(code), message_(std::move(message)) {
  what_ = std::string(to_string(code_)) + ": " + message_;
}

void throw_io(const std::string& what, int err) {
  throw error(errc::io, what + " (" + std::strerror(err) + ")");
}

}  // namespace serialake
