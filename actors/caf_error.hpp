#pragma once
// serialake errors as caf::errors and back, so that a request to an actor (a
// reader actor's read, a subscriber's reply) keeps the errc and the message:
// category atom "serialake", code = the errc's value, context = the message.
// Other caf::errors (the actor is gone, a request timed out) map to errc::closed
// and errc::timeout.

#include <caf/all.hpp>

#include <string>

#include "serialake/error.hpp"

namespace serialake {

/// The caf::error category of serialake's errors.
constexpr caf::atom_value caf_error_category = caf::atom("serialake");

/// `e` as a caf::error of category "serialake".
inline caf::error to_caf_error(const error& e) {
  return caf::error(static_cast<uint8_t>(e.code()), caf_error_category, caf::make_message(e.message()));
}

/// The serialake error a caf::error stands for (see above); `sys` renders
/// errors of other categories.
inline error from_caf_error(const caf::error& e, caf::actor_system& sys) {
  if (e.category() == caf_error_category) {
    const auto& ctx = e.context();
    std::string msg = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
    return error(static_cast<errc>(e.code()), std::move(msg));
  }
  if (e == caf::sec::request_timeout) return error(errc::timeout, sys.render(e));
  return error(errc::closed, sys.render(e));
}

/// Registers the renderer of the "serialake" category ("locked: <message>").
inline void add_caf_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(caf_error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string msg = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
    return std::string(to_string(static_cast<errc>(code))) + ": " + msg;
  });
}

}  // namespace serialake
