#include "core/log_mark.hpp"

#include <nlohmann/json.hpp>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/json_integer.hpp"

namespace serialake {

std::optional<log_mark> read_mark(const std::string& dir) {
  const std::string path = dir + "/" + format::mark_file;
  std::string text;
  try {
    text = io::read_file(path);
  } catch (const error& e) {
    if (e.code() == errc::not_found) return std::nullopt;
    throw;
  }
  try {
    auto j = nlohmann::json::parse(text);
    log_mark m;
    m.version = json_integer::get<uint64_t>(j.at("version"));
    m.log_bytes = json_integer::get<uint64_t>(j.at("log_bytes"));
    m.session = j.at("session").get<std::string>();
    m.open = j.at("open").get<bool>();
    m.time_ms = json_integer::get<int64_t>(j.at("time_ms"));
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::corrupt, path + " is damaged: " + e.what());
  }
}

void write_mark(const std::string& dir, const log_mark& m) {
  nlohmann::json j{{"version", m.version}, {"log_bytes", m.log_bytes}, {"session", m.session},
                   {"open", m.open}, {"time_ms", m.time_ms}};
  io::write_file_atomic(dir + "/" + format::mark_file, j.dump() + "\n", m.open);
}

}  // namespace serialake
