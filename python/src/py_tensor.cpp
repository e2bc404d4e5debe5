#include "py_tensor.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>

#include "convert.hpp"

namespace serialake::python {

std::shared_ptr<const snapshot> tensor_ref::source() const {
  if (snap) return snap;
  py::gil_scoped_release nogil;
  return ds->current();
}

std::pair<uint64_t, uint64_t> tensor_ref::extent(const snapshot& s) const {
  if (range) return *range;
  return {0, s.length(name)};
}

tensor_ref tensor_ref::at(py::handle key) const {
  auto s = source();
  auto [b, e] = extent(*s);
  const auto n = static_cast<py::ssize_t>(e - b);
  tensor_ref r = *this;
  r.snap = s;
  if (py::isinstance<py::slice>(key)) {
    py::ssize_t start = 0, stop = 0, step = 0, len = 0;
    if (!py::reinterpret_borrow<py::slice>(key).compute(n, &start, &stop, &step, &len))
      throw py::error_already_set();
    if (step != 1) throw error(errc::invalid_argument, "tensor " + name + ": slices take no step");
    r.range = {b + static_cast<uint64_t>(start), b + static_cast<uint64_t>(start + len)};
    r.single = false;
    return r;
  }
  if (single) throw error(errc::invalid_argument, "tensor " + name + ": a sample cannot be indexed further");
  auto i = py::cast<py::ssize_t>(key);
  if (i < 0) i += n;
  if (i < 0 || i >= n)
    throw py::index_error("tensor " + name + ": index " + std::string(py::str(key)) + " out of range (" +
                          std::to_string(n) + " samples)");
  r.range = {b + static_cast<uint64_t>(i), b + static_cast<uint64_t>(i) + 1};
  r.single = true;
  return r;
}

tensor_spec tensor_ref::spec() const { return ds ? ds->spec(name) : source()->spec(name); }

py::object tensor_ref::numpy() const {
  auto s = source();
  const tensor_spec& sp = s->spec(name);
  auto [b, e] = extent(*s);
  if (!is_blob(sp.type) && sp.shape) {
    // Fixed shape: one array, read straight into it (one pread per run).
    std::vector<py::ssize_t> shape(sp.shape->begin(), sp.shape->end());
    if (!single) shape.insert(shape.begin(), static_cast<py::ssize_t>(e - b));
    py::array out(numpy_dtype(sp.type), shape);
    void* buf = out.mutable_data();
    size_t cap = static_cast<size_t>(out.nbytes());
    {
      py::gil_scoped_release nogil;
      s->read_range(name, b, e, buf, cap);
    }
    return std::move(out);
  }
  std::vector<sample> got;
  {
    py::gil_scoped_release nogil;
    got = s->read_range(name, b, e);
  }
  if (single) return to_python(std::move(got.at(0)));
  py::list out;
  for (auto& smp : got) out.append(to_python(std::move(smp)));
  return std::move(out);
}

uint64_t min_length(const snapshot& s) {
  auto all = s.tensors();
  if (all.empty()) return 0;
  uint64_t n = UINT64_MAX;
  for (auto& t : all) n = std::min(n, s.length(t.name));
  return n;
}

namespace {

py::object shape_or_none(const tensor_spec& s) {
  if (!s.shape) return py::none();
  return shape_tuple(*s.shape);
}

tensor_ref writable(const tensor_ref& t) {
  if (!t.ds) throw error(errc::read_only, "tensor " + t.name + " belongs to a snapshot, which is read-only");
  if (t.range) throw error(errc::invalid_argument, "tensor " + t.name + ": append to ds[name], not to a sample");
  return t;
}

}  // namespace

void bind_tensor(py::module_& m) {
  py::class_<tensor_ref>(m, "Tensor", "One tensor of a dataset or snapshot; ds[name], ds[name][i], ds[name][i:j].")
    .def_property_readonly("name", [](const tensor_ref& t) { return t.name; })
    .def_property_readonly("dtype", [](const tensor_ref& t) { return std::string(to_string(t.spec().type)); },
                           "The dtype's name: bool, uint8, ..., float64, bytes, text, json.")
    .def_property_readonly("htype", [](const tensor_ref& t) { return t.spec().htype; })
    .def_property_readonly("sample_shape", [](const tensor_ref& t) { return shape_or_none(t.spec()); },
                           "The fixed shape of every sample, or None.")
    .def("__len__", [](const tensor_ref& t) {
      auto s = t.source();
      auto [b, e] = t.extent(*s);
      return e - b;
    }, "Samples in this tensor (committed; a writer's own appends are flushed first).")
    .def("__getitem__", &tensor_ref::at, py::arg("key"), "A sample (int) or a range (slice, no step).")
    .def("__iter__", [](const tensor_ref& t) {
      auto s = t.source();
      auto [b, e] = t.extent(*s);
      py::list items;
      for (uint64_t i = b; i < e; ++i) {
        tensor_ref r = t;
        r.snap = s;
        r.range = {i, i + 1};
        r.single = true;
        items.append(py::cast(r));
      }
      return py::iter(items);
    })
    .def("numpy", &tensor_ref::numpy,
         "The samples: an ndarray for a numeric sample or a fixed-shape range "
         "(read straight into it); a list for ragged ranges; bytes, str or the "
         "parsed JSON for blob samples.")
    .def("__array__", [](const tensor_ref& t, py::object dt) {
      py::object a = t.numpy();
      return dt.is_none() ? py::module_::import("numpy").attr("asarray")(a)
                          : py::module_::import("numpy").attr("asarray")(a, dt);
    }, py::arg("dtype") = py::none())
    .def("append", [](const tensor_ref& t, py::handle x) { writable(t).ds->append(t.name, x); },
         py::arg("sample"),
         "Queues one sample (an ndarray of the tensor's dtype, bytes, str or a "
         "JSON value) and returns at once; an error found later is raised by the "
         "next append, flush, commit or close.")
    .def("extend", [](const tensor_ref& t, py::iterable xs) { writable(t).ds->extend_tensor(t.name, xs); },
         py::arg("samples"), "Appends many samples, all or nothing, and waits until they are applied.")
    .def("__repr__", [](const tensor_ref& t) { return "<serialake.Tensor " + t.name + ">"; });
}

}  // namespace serialake::python
