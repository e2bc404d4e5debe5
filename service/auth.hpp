#pragma once
// The bearer token check of the service (service/serialake.proto: Authentication).

#include <string>
#include <string_view>

namespace serialake::service {

/// The metadata key and value prefix carrying the token.
inline constexpr const char* auth_key = "authorization";
inline constexpr std::string_view bearer = "Bearer ";

/// True if `a` equals `b`. Takes the same time for every `a` of a given length
/// whatever its content, so a caller cannot find the token byte by byte by
/// timing refusals (only its length could leak, and that is no secret worth
/// keeping: tokens are long random strings).
inline bool same_token(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  return diff == 0;
}

/// The token in file `path`, without trailing whitespace (a newline from
/// `echo`); throws errc::io or invalid_argument (empty) naming the file.
std::string read_token_file(const std::string& path);

}  // namespace serialake::service
