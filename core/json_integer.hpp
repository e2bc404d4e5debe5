#pragma once
// Integers read out of the JSON files core parses (dataset.json, commits.mark,
// the lock file). nlohmann's get<T>() converts a JSON float to an integer T with
// a plain cast, which is undefined behaviour when the float is out of T's range
// (fuzzing found it: "heartbeat_ms": 1.8e23 in a lock file). These take only JSON
// integers that fit T and throw nlohmann::json::type_error otherwise, as get<T>()
// does for a value of the wrong type, so callers keep their one catch for
// malformed JSON.

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace serialake::json_integer {

/// `v` as a T; type_error unless it is a JSON integer within T's range.
template <class T>
T get(const nlohmann::json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  constexpr auto max = static_cast<uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_unsigned() && v.get<uint64_t>() <= max) return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    const int64_t i = v.get<int64_t>();  // negative: nlohmann keeps non-negative integers unsigned
    if (std::is_signed_v<T> && i >= static_cast<int64_t>(std::numeric_limits<T>::min())) return static_cast<T>(i);
  }
  throw nlohmann::json::type_error::create(
      302, "expected an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
               std::to_string(std::numeric_limits<T>::max()) + "], got " + v.dump(),
      &v);
}

/// `v` as a vector of T; type_error unless it is an array of such integers.
template <class T>
std::vector<T> get_array(const nlohmann::json& v) {
  if (!v.is_array()) throw nlohmann::json::type_error::create(302, "expected an array, got " + v.dump(), &v);
  std::vector<T> out;
  for (auto& x : v) out.push_back(get<T>(x));
  return out;
}

}  // namespace serialake::json_integer
