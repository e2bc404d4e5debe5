#pragma once
// NumPy .npy export (format version 1.0): a 64-byte-aligned header followed by the
// raw little-endian elements, C order. Samples are stacked along a new first axis.

#include <cstdint>
#include <string>

#include "serialake/snapshot.hpp"
#include "serialake/types.hpp"

namespace serialake::cli {

/// The .npy type string of a numeric dtype ('<i8', '<f4', '|b1', ...).
/// Throws errc::invalid_argument for bytes, text and json.
std::string npy_descr(dtype t);

/// The complete preamble: magic, version 1.0, header length and the header dict
/// `{'descr': ..., 'fortran_order': False, 'shape': (...), }` padded with spaces
/// and a newline so the data starts at a multiple of 64 bytes.
std::string npy_header(dtype t, const shape_t& shape);

/// Writes every sample of `tensor` in `snap` to `file` as one array of shape
/// (length, *sample shape). The samples must all have the same shape; a ragged or
/// non-numeric tensor is errc::invalid_argument. Returns the number of samples.
/// On failure the partial file is removed.
uint64_t export_npy(const snapshot& snap, const std::string& tensor, const std::string& file);

}  // namespace serialake::cli
