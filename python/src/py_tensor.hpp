#pragma once
// A tensor as Python sees it (Deep Lake's habits): `ds[name]` is unbound,
// `ds[name][i]` one sample, `ds[name][i:j]` a range; `.numpy()` reads. Bound
// tensors keep the snapshot they were indexed in, so a sample or range reads
// the same bytes however the dataset moves on.

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>

#include "py_dataset.hpp"

namespace serialake::python {

namespace py = pybind11;

/// What a tensor reads from and writes to.
struct tensor_ref {
  std::shared_ptr<dataset_state> ds;        ///< null for a tensor of a Snapshot object
  std::shared_ptr<const snapshot> snap;     ///< set for Snapshot tensors and bound ones
  std::string name;
  std::optional<std::pair<uint64_t, uint64_t>> range;  ///< bound: samples [begin, end)
  bool single = false;                      ///< bound to one sample (range of one)

  /// The snapshot to read (the dataset's current one when unbound). GIL held.
  std::shared_ptr<const snapshot> source() const;
  /// Samples [begin, end) this tensor covers, in `s`.
  std::pair<uint64_t, uint64_t> extent(const snapshot& s) const;
  /// Index or slice -> a bound tensor; IndexError past the end.
  tensor_ref at(py::handle key) const;
  /// The samples as NumPy (a numeric sample or fixed-shape range: one array;
  /// ragged ranges and blobs: a list), read without the GIL.
  py::object numpy() const;
  /// The tensor's spec.
  tensor_spec spec() const;
};

/// Registers Tensor on `m`.
void bind_tensor(py::module_& m);

/// The shortest tensor's length in `s` (0 without tensors): len(ds).
uint64_t min_length(const snapshot& s);

}  // namespace serialake::python
