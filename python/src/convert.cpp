#include "convert.hpp"

#include <algorithm>
#include <string>

#include "serialake/error.hpp"

namespace serialake::python {

namespace {

std::string shape_text(const uint64_t* s, size_t n) {
  std::string t = "[";
  for (size_t i = 0; i < n; ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

[[noreturn]] void refuse(const tensor_spec& spec, const std::string& what) {
  throw error(errc::schema_mismatch, "tensor " + spec.name + " (" + to_string(spec.type) + "): " + what);
}

std::string type_name(py::handle x) { return py::str(py::type::of(x).attr("__name__")); }

void convert_numeric(const tensor_spec& spec, py::handle x, converted& out) {
  py::dtype want = numpy_dtype(spec.type);
  py::object arr;
  if (py::isinstance<py::array>(x)) {
    arr = py::reinterpret_borrow<py::object>(x);
  } else if (py::hasattr(x, "dtype")) {  // a NumPy scalar, anything array-like with a dtype
    arr = py::module_::import("numpy").attr("asarray")(x);
  }
  if (arr) {
    py::object have = arr.attr("dtype");
    if (!have.equal(want))
      refuse(spec, "got an array of dtype " + std::string(py::str(have)) + ", expected " +
                       std::string(py::str(want)) + " (convert it with .astype)");
  } else {
    try {
      arr = py::module_::import("numpy").attr("asarray")(x, want);
    } catch (py::error_already_set& e) {
      refuse(spec, "cannot convert a " + type_name(x) + " to " + std::string(py::str(want)) + ": " + e.what());
    }
  }
  auto a = py::array::ensure(arr, py::array::c_style);  // copies only a non-contiguous array
  if (!a) throw py::error_already_set();
  if (static_cast<size_t>(a.ndim()) > max_ndim)
    throw error(errc::invalid_argument, "tensor " + spec.name + ": " + std::to_string(a.ndim()) +
                                            " dimensions, at most " + std::to_string(max_ndim));
  out.ndim = static_cast<size_t>(a.ndim());
  for (size_t i = 0; i < out.ndim; ++i) out.shape[i] = static_cast<uint64_t>(a.shape(static_cast<py::ssize_t>(i)));
  if (spec.shape && (spec.shape->size() != out.ndim ||
                     !std::equal(spec.shape->begin(), spec.shape->end(), out.shape.begin())))
    refuse(spec, "got shape " + shape_text(out.shape.data(), out.ndim) + ", the tensor's samples are " +
                     shape_text(spec.shape->data(), spec.shape->size()));
  out.data = a.data();
  out.size = static_cast<size_t>(a.nbytes());
  out.owner = std::move(a);
}

void set_blob(converted& out, py::object owner, const char* data, size_t size) {
  out.ndim = 1;
  out.shape[0] = size;
  out.data = data;
  out.size = size;
  out.owner = std::move(owner);
}

}  // namespace

sample converted::copy() const {
  return sample{type, shape_t(shape.begin(), shape.begin() + ndim),
                std::string(static_cast<const char*>(data), size)};
}

converted convert(const tensor_spec& spec, py::handle x) {
  converted out;
  out.type = spec.type;
  if (!is_blob(spec.type)) {
    convert_numeric(spec, x, out);
    return out;
  }
  py::object text;  // json: the serialized value, alive until `out` owns it
  if (spec.type == dtype::json) {
    try {
      text = py::module_::import("json").attr("dumps")(x, py::arg("ensure_ascii") = false,
                                                       py::arg("allow_nan") = false,
                                                       py::arg("separators") = py::make_tuple(",", ":"));
    } catch (py::error_already_set& e) {
      refuse(spec, "a " + type_name(x) + " is not JSON-serializable: " + e.what());
    }
    x = text;
  }
  if (spec.type == dtype::text || spec.type == dtype::json) {
    if (!py::isinstance<py::str>(x)) refuse(spec, "expected a str, got a " + type_name(x));
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(x.ptr(), &n);
    if (!s) throw py::error_already_set();
    set_blob(out, py::reinterpret_borrow<py::object>(x), s, static_cast<size_t>(n));
    return out;
  }
  if (py::isinstance<py::str>(x)) refuse(spec, "expected bytes, got a str (encode it)");
  // bytes are immutable; any other buffer (bytearray, memoryview, ...) is
  // copied into bytes first, since it could change while the GIL is released.
  py::object b = py::isinstance<py::bytes>(x) ? py::reinterpret_borrow<py::object>(x)
                                              : py::reinterpret_steal<py::object>(PyBytes_FromObject(x.ptr()));
  if (!b) {
    PyErr_Clear();
    refuse(spec, "expected bytes, got a " + type_name(x));
  }
  set_blob(out, b, PyBytes_AS_STRING(b.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(b.ptr())));
  return out;
}

py::dtype numpy_dtype(dtype t) {
  switch (t) {
    case dtype::boolean: return py::dtype::of<bool>();
    case dtype::uint8: return py::dtype::of<uint8_t>();
    case dtype::uint16: return py::dtype::of<uint16_t>();
    case dtype::uint32: return py::dtype::of<uint32_t>();
    case dtype::uint64: return py::dtype::of<uint64_t>();
    case dtype::int8: return py::dtype::of<int8_t>();
    case dtype::int16: return py::dtype::of<int16_t>();
    case dtype::int32: return py::dtype::of<int32_t>();
    case dtype::int64: return py::dtype::of<int64_t>();
    case dtype::float32: return py::dtype::of<float>();
    case dtype::float64: return py::dtype::of<double>();
    default: break;
  }
  throw error(errc::invalid_argument, std::string("dtype ") + to_string(t) + " has no NumPy dtype");
}

py::tuple shape_tuple(const shape_t& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

py::object to_python(sample&& s) {
  switch (s.type) {
    case dtype::bytes: return py::bytes(s.data);
    case dtype::text: return py::str(s.data);
    case dtype::json: return py::module_::import("json").attr("loads")(py::str(s.data));
    default: break;
  }
  auto* owned = new std::string(std::move(s.data));
  py::capsule base(owned, [](void* p) { delete static_cast<std::string*>(p); });
  std::vector<py::ssize_t> shape(s.shape.begin(), s.shape.end());
  return py::array(numpy_dtype(s.type), shape, owned->data(), base);
}

}  // namespace serialake::python
