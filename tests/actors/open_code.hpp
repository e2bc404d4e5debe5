#pragma once
// The outcome of opening (and closing) a dataset through an engine, as an errc.

#include <string>

#include "serialake/dataset.hpp"
#include "tests/expect_code.hpp"

namespace serialake::test {

/// errc{} if `path` opens with `o`; else the error's code (and message in `msg`).
inline errc open_code(engine& eng, const std::string& path, const dataset_options& o,
                      std::string* msg = nullptr) {
  return code_of([&] { eng.open(path, o).close(); }, msg);
}

}  // namespace serialake::test
