#pragma once
// The outcome of opening (and closing) a dataset through an engine, as an errc.

#include <string>

#include "actors/dataset.hpp"

namespace serialake::test {

/// errc{} if `path` opens with `o`; else the error's code (and message in `msg`).
inline errc open_code(engine& eng, const std::string& path, const dataset_options& o,
                      std::string* msg = nullptr) {
  try {
    eng.open(path, o).close();
  } catch (const error& e) {
    if (msg) *msg = e.message();
    return e.code();
  }
  return errc{};
}

}  // namespace serialake::test
