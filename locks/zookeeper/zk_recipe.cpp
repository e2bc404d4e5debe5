#include "locks/zookeeper/zk_recipe.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>

#include "core/lock_file.hpp"

namespace serialake::zk {
namespace {

const char* const node_names[] = {"__lock__", "__rlock__"};

bool ends_with(const std::string& s, size_t end, const std::string& suffix) {
  return end >= suffix.size() && s.compare(end - suffix.size(), suffix.size(), suffix) == 0;
}

// kazoo's `(?:__lock__|__rlock__)(-?\d{10})$`, searched in `name`.
std::optional<contender> parse(const std::string& name) {
  if (name.size() < 10) return std::nullopt;
  size_t at = name.size() - 10;
  for (size_t i = at; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
  if (at > 0 && name[at - 1] == '-') --at;
  for (const char* n : node_names)
    if (ends_with(name, at, n)) return contender{name, name.substr(at)};
  return std::nullopt;
}

}  // namespace

std::string new_node_prefix() {
  // uuid4().hex: 32 hex digits, version nibble 4, variant bits 10.
  std::random_device rd;
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", b[i]);
  return std::string(hex) + node_names[0];
}

std::vector<contender> contenders(const std::vector<std::string>& children) {
  std::vector<contender> out;
  for (auto& c : children)
    if (auto m = parse(c)) out.push_back(*m);
  // The server lists children unsorted; kazoo sorts by the sequence text.
  std::stable_sort(out.begin(), out.end(), [](const contender& a, const contender& b) { return a.seq < b.seq; });
  return out;
}

std::optional<std::string> predecessor(const std::vector<contender>& sorted, const std::string& self) {
  std::string before;
  for (auto& c : sorted) {
    if (c.name == self) return before;
    before = c.name;
  }
  return std::nullopt;
}

std::string identifier(const std::string& kind) {
  return nlohmann::json{{"kind", kind}, {"host", this_host()}, {"pid", static_cast<int>(::getpid())}}.dump();
}

lock_holder holder_of(const std::string& data, const Stat& stat) {
  lock_holder h;
  h.since_ms = h.heartbeat_ms = stat.ctime;
  h.generation = static_cast<uint64_t>(stat.czxid);
  h.alive = stat.ephemeralOwner != 0;  // an ephemeral node lives only with its session
  try {
    auto j = nlohmann::json::parse(data);
    h.kind = j.at("kind").get<std::string>();
    h.host = j.at("host").get<std::string>();
    h.pid = j.at("pid").get<int>();
  } catch (const nlohmann::json::exception&) {
    h.kind = "kazoo";
    h.host = data.empty() ? "?" : data;
  }
  return h;
}

}  // namespace serialake::zk
