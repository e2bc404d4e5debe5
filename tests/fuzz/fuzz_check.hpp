#pragma once
// What a harness does when a property fails: say which and abort, so libFuzzer
// records the input as a crash (an error thrown by the code under test is an
// answer, not a finding; a broken property is one).

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "serialake/error.hpp"

namespace serialake::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

/// Runs `f`; serialake::error is a fine answer to bad input, anything else
/// thrown (std::out_of_range, nlohmann's exceptions, ...) is a finding.
template <class F>
bool answers(F&& f) {
  try {
    f();
    return true;
  } catch (const serialake::error&) {
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz property failed: threw a non-serialake exception: %s\n", e.what());
    std::abort();
  }
}

}  // namespace serialake::fuzz
