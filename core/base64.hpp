#pragma once
// Base64 (RFC 4648, standard alphabet, with padding): how the CLI writes `bytes`
// samples into JSON Lines and reads them back. Small and local so the CLI does not
// depend on a library's idea of line wrapping or padding.

#include <string>
#include <string_view>

namespace serialake {

/// Encodes `in` as padded base64 without line breaks.
std::string base64_encode(std::string_view in);

/// Decodes padded base64. Strict: the length must be a multiple of 4, only the
/// alphabet and trailing '=' padding are allowed (no whitespace), so every
/// accepted text maps to exactly one byte string. Throws errc::invalid_argument.
std::string base64_decode(std::string_view in);

}  // namespace serialake
