#pragma once
// Samples <-> JSON, the encoding of `serialake cat` and `serialake append`. It is
// built so that cat | append | cat reproduces its input byte for byte:
//
//   numeric   a number for a sample of shape [], else nested arrays following the
//             shape ([] for shape [0]); integers exact (int64/uint64 included),
//             floats in the shortest text that reads back to the same value,
//             NaN and infinities as the strings "NaN", "Infinity", "-Infinity"
//             (JSON has no literal for them)
//   bool      true / false (nested arrays for non-scalar samples)
//   text      a JSON string
//   json      the JSON value itself (written compactly, key order kept)
//   bytes     a base64 string (RFC 4648, padded)
//
// A row is one JSON object per line: {"tensor": value, ...}.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "serialake/types.hpp"

namespace serialake::cli {

/// JSON values keep the key order they were written in, so json samples survive a
/// round trip unchanged.
using json = nlohmann::ordered_json;

/// Appends the JSON text of `s` (a sample of `spec`) to `out`.
/// Throws errc::corrupt if a stored json/text sample does not parse.
void write_json(const tensor_spec& spec, const sample& s, std::string& out);

/// Appends `{"name":value,...}` for the given samples (in order) to `out`, no newline.
void write_row(const std::vector<std::pair<const tensor_spec*, sample>>& fields,
                std::string& out);

/// Converts a JSON value into a sample of `spec` and checks it against the spec.
/// Throws errc::invalid_argument or schema_mismatch with a message saying what is
/// wrong with the value (the caller adds the line and field).
sample read_json(const tensor_spec& spec, const json& v);

/// Parses one JSON Lines row (what `serialake append` reads per line) against the
/// tensors of the dataset at `path` (named in messages). Every tensor must be
/// named unless `allow_missing`. Throws errc::invalid_argument or schema_mismatch
/// naming line `lineno` and the field.
row read_row(const std::string& line, uint64_t lineno, const std::map<std::string, tensor_spec>& specs,
             const std::string& path, bool allow_missing);

/// Appends `s` as a JSON string literal (UTF-8, escaped as JSON requires).
void append_json_string(const std::string& s, std::string& out);

}  // namespace serialake::cli
