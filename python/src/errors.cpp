#include "errors.hpp"

#include "serialake/error.hpp"

namespace py = pybind11;

namespace serialake::python {

void register_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const serialake::error& e) {
      // Imported per error, not cached: errors are rare, and a cached class
      // object would outlive the interpreter's teardown.
      py::object by_code = py::module_::import("serialake.errors").attr("BY_CODE");
      const char* code = to_string(e.code());
      py::object cls = by_code[py::str(code)];
      py::object exc = cls(e.message(), code);
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });
}

}  // namespace serialake::python
