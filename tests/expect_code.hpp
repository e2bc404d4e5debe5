#pragma once
// The one way a test checks a failure: the specific errc, never "any error".
//
//   CHECK(expect_code(errc::corrupt, [&] { snap->read("x", 29); }));
//   errc got = code_of([&] { store::open(path); });   // errc{} if it succeeded

#include <catch2/catch.hpp>

#include <string>

#include "serialake/error.hpp"

namespace serialake::test {

/// What `fn` did: errc{} if it returned, the code of the serialake::error it
/// threw (its message into `msg`). Anything else it throws fails the test.
template <class F>
errc code_of(F&& fn, std::string* msg = nullptr) {
  try {
    fn();
  } catch (const error& e) {
    if (msg) *msg = e.message();
    return e.code();
  } catch (const std::exception& e) {
    FAIL("threw a " << typeid(e).name() << " instead of serialake::error: " << e.what());
  }
  return errc{};
}

/// True if `fn` throws serialake::error with code `want` (its message into
/// `message`); otherwise says (in the failing CHECK's report) what happened instead.
template <class F>
bool expect_code(errc want, F&& fn, std::string* message = nullptr) {
  std::string msg;
  errc got = code_of(fn, &msg);
  if (message) *message = msg;
  if (got != want)
    UNSCOPED_INFO("expected " << to_string(want) << ", got "
                              << (got == errc{} ? std::string("no error") : std::string(to_string(got)) + ": " + msg));
  return got == want;
}

}  // namespace serialake::test
