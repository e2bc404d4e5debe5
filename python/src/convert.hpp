#pragma once
// Python values <-> samples. Every function here needs the GIL.
//
// In: a NumPy array (or anything np.asarray takes) for a numeric tensor, bytes
// for bytes, str for text, any JSON-serializable value (dict, list, ...) for
// json. Out: numeric samples as NumPy arrays over the sample's own bytes (no
// copy), bytes as bytes, text as str, json parsed (json.loads).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>

#include "serialake/types.hpp"

namespace serialake::python {

namespace py = pybind11;

/// A Python value made ready for one tensor: its bytes stay in `owner`.
struct converted {
  dtype type = dtype::bytes;
  std::array<uint64_t, max_ndim> shape{};
  size_t ndim = 0;
  const void* data = nullptr;
  size_t size = 0;
  py::object owner;  ///< keeps `data` alive (and unchanged: bytes, str, an owned array)

  /// The sample as a view; valid while this object lives.
  sample_view view() const { return sample_view{type, shape.data(), ndim, data, size}; }
  /// A copy of the sample.
  sample copy() const;
};

/// Converts `x` into a sample of tensor `spec`. NumPy arrays and scalars must
/// have the tensor's dtype exactly (schema_mismatch otherwise); plain Python
/// numbers and lists are cast to it. A fixed-shape tensor refuses other shapes
/// here, before anything is queued (schema_mismatch naming the tensor).
converted convert(const tensor_spec& spec, py::handle x);

/// The NumPy dtype of a numeric dtype.
py::dtype numpy_dtype(dtype t);

/// The shape as a tuple.
py::tuple shape_tuple(const shape_t& s);

/// A sample as a Python value, taking its bytes (a numeric sample becomes an
/// ndarray owning them).
py::object to_python(sample&& s);

}  // namespace serialake::python
