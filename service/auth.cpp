#include "service/auth.hpp"

#include <cctype>

#include "core/file_io.hpp"
#include "serialake/error.hpp"

namespace serialake::service {

std::string read_token_file(const std::string& path) {
  std::string t = io::read_file(path);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  if (t.empty()) throw error(errc::invalid_argument, "token file " + path + " is empty");
  return t;
}

}  // namespace serialake::service
