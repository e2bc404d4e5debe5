#include "core/schema.hpp"

#include <nlohmann/json.hpp>

#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/json_integer.hpp"

namespace serialake {

std::vector<schema_tensor> read_schema(const std::string& dir) {
  const std::string path = dir + "/" + format::schema_file;
  if (!io::exists(path))
    throw error(errc::not_found, "no dataset at " + dir + " (" + format::schema_file +
                                     " is missing)");
  std::string text = io::read_file(path);
  std::vector<schema_tensor> out;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("format").get<std::string>() != "serialake")
      throw error(errc::corrupt, path + " is not a serialake dataset");
    if (json_integer::get<int>(j.at("format_version")) != 1)
      throw error(errc::corrupt, path + ": unsupported format_version " +
                                     j.at("format_version").dump());
    for (auto& t : j.at("tensors")) {
      schema_tensor st;
      st.spec.name = t.at("name").get<std::string>();
      check_tensor_name(st.spec.name);
      st.spec.type = parse_dtype(t.at("dtype").get<std::string>());
      st.spec.htype = t.value("htype", "generic");
      if (t.contains("shape") && !t["shape"].is_null())
        st.spec.shape = json_integer::get_array<uint64_t>(t["shape"]);
      if (t.contains("since")) st.since = json_integer::get<uint64_t>(t["since"]);
      out.push_back(std::move(st));
    }
  } catch (const nlohmann::json::exception& e) {
    throw error(errc::corrupt, path + " is damaged: " + e.what());
  } catch (const error& e) {
    if (e.code() == errc::corrupt) throw;
    throw error(errc::corrupt, path + " is damaged: " + e.message());
  }
  return out;
}

void write_schema(const std::string& dir, const std::vector<schema_tensor>& tensors) {
  nlohmann::json j;
  j["format"] = "serialake";
  j["format_version"] = 1;
  j["tensors"] = nlohmann::json::array();
  for (auto& t : tensors) {
    nlohmann::json o;
    o["name"] = t.spec.name;
    o["dtype"] = to_string(t.spec.type);
    o["htype"] = t.spec.htype;
    o["shape"] = t.spec.shape ? nlohmann::json(*t.spec.shape) : nlohmann::json(nullptr);
    o["since"] = t.since;
    j["tensors"].push_back(std::move(o));
  }
  io::write_file_atomic(dir + "/" + format::schema_file, j.dump(2) + "\n");
}

}  // namespace serialake
