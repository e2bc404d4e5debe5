#pragma once
// serialake::error -> the Python exception of its code (serialake/errors.py).

#include <pybind11/pybind11.h>

namespace serialake::python {

/// Registers the translator: a serialake::error escaping a binding raises
/// serialake.errors.BY_CODE[code](message, code).
void register_errors();

}  // namespace serialake::python
