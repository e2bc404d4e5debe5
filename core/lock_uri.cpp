#include "serialake/lock_uri.hpp"

#include <cstdio>

#include "serialake/error.hpp"
#include "core/format.hpp"

namespace serialake {

namespace {

uint16_t default_port(const std::string& scheme) {
  if (scheme == "zk") return 2181;
  if (scheme == "redis") return 6379;
  if (scheme == "etcd") return 2379;
  return 0;
}

[[noreturn]] void bad(const std::string& uri, const std::string& why) {
  throw error(errc::invalid_argument, "lock URI '" + uri + "': " + why +
                                          " (expected zk://, redis:// or etcd://host:port[/name])");
}

}  // namespace

lock_service_uri parse_lock_uri(const std::string& uri) {
  lock_service_uri u;
  u.text = uri;
  const auto sep = uri.find("://");
  if (sep == std::string::npos) bad(uri, "no scheme");
  u.scheme = uri.substr(0, sep);
  if (default_port(u.scheme) == 0) bad(uri, "unknown scheme '" + u.scheme + "'");
  const std::string rest = uri.substr(sep + 3);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.name = rest.substr(slash + 1);
  const auto colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  if (u.host.empty()) bad(uri, "no host");
  u.port = default_port(u.scheme);
  if (colon != std::string::npos) {
    const std::string p = authority.substr(colon + 1);
    unsigned long v = 0;
    for (char c : p) {
      if (c < '0' || c > '9' || v > 65535) bad(uri, "bad port '" + p + "'");
      v = v * 10 + unsigned(c - '0');
    }
    if (p.empty() || v == 0 || v > 65535) bad(uri, "bad port '" + p + "'");
    u.port = static_cast<uint16_t>(v);
  }
  while (!u.name.empty() && u.name.back() == '/') u.name.pop_back();
  if (u.name.find("//") != std::string::npos) bad(uri, "empty path segment in '" + u.name + "'");
  for (unsigned char c : u.name)
    if (c < 0x20 || c == 0x7f) bad(uri, "control character in the lock name");
  return u;
}

std::string derived_lock_name(const std::string& canonical_path) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(format::hash(canonical_path.data(), canonical_path.size())));
  return std::string("serialake-") + hex;
}

}  // namespace serialake
