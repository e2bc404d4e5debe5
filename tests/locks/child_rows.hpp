#pragma once
// Rows and a dataset as lock_child (tests/actors/lock_child.cpp) writes them,
// for the lock services' fault tests, which run it as the other writer.

#include <cstdint>
#include <string>

#include "core/store.hpp"
#include "serialake/types.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

/// Row `w`: "w" = w (int64), "s" = "row <w>" (text).
inline row make_row(int64_t w) {
  row r;
  r.emplace_back("w", sample::scalar<int64_t>(dtype::int64, w));
  r.emplace_back("s", sample::of_text("row " + std::to_string(w)));
  return r;
}

/// A new dataset at t/ds with lock_child's tensors; returns its path.
inline std::string make_child_dataset(const temp_dir& t) {
  store::initialize(t / "ds", {{"w", dtype::int64, "generic", {}}, {"s", dtype::text, "text", {}}});
  return t / "ds";
}

}  // namespace serialake::test
