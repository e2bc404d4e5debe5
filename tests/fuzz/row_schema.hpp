#pragma once
// The tensors the json_row harness decodes rows against, and its seeds are
// written for: one of each dtype, fixed and variable shapes.

#include <map>
#include <optional>
#include <string>

#include "serialake/types.hpp"

namespace serialake::fuzz {

inline std::map<std::string, tensor_spec> row_specs() {
  std::map<std::string, tensor_spec> out;
  auto add = [&](const std::string& name, dtype t, std::optional<shape_t> shape = std::nullopt) {
    out[name] = tensor_spec{name, t, "generic", std::move(shape)};
  };
  add("flag", dtype::boolean);
  add("u8", dtype::uint8);
  add("u16", dtype::uint16, shape_t{2});
  add("u32", dtype::uint32);
  add("u64", dtype::uint64);
  add("i8", dtype::int8);
  add("i16", dtype::int16);
  add("i32", dtype::int32, shape_t{});
  add("label", dtype::int64);
  add("f32", dtype::float32, shape_t{2, 3});
  add("f64", dtype::float64);
  add("raw", dtype::bytes);
  add("caption", dtype::text);
  add("meta", dtype::json);
  return out;
}

}  // namespace serialake::fuzz
