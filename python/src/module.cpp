// serialake._serialake: the extension behind `import serialake` (see
// python/serialake/__init__.py for the package and the README's Python section).

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "convert.hpp"
#include "engine_slot.hpp"
#include "errors.hpp"
#include "py_dataset.hpp"
#include "py_search.hpp"
#include "py_tensor.hpp"

namespace py = pybind11;
using namespace serialake;
using namespace serialake::python;

namespace {

/// A Snapshot object: an immutable committed version.
struct snapshot_ref {
  std::shared_ptr<const snapshot> snap;
};

tensor_ref tensor_of(const std::shared_ptr<dataset_state>& ds, const std::string& name) {
  ds->spec(name);  // not_found now rather than at the first read
  return tensor_ref{ds, nullptr, name, std::nullopt, false};
}

tensor_ref tensor_of(const snapshot_ref& s, const std::string& name) {
  s.snap->spec(name);
  return tensor_ref{nullptr, s.snap, name, std::nullopt, false};
}

dtype dtype_of(py::handle dt, const std::string& htype) {
  if (dt.is_none()) {
    // Deep Lake's defaults for the htypes that imply one.
    if (htype == "image") return dtype::uint8;
    if (htype == "class_label") return dtype::uint32;
    if (htype == "text") return dtype::text;
    if (htype == "json") return dtype::json;
    throw error(errc::invalid_argument, "htype " + htype + " implies no dtype: pass dtype=");
  }
  if (py::isinstance<py::str>(dt)) return parse_dtype(py::cast<std::string>(dt));
  return parse_dtype(py::cast<std::string>(py::module_::import("numpy").attr("dtype")(dt).attr("name")));
}

template <class T>
py::dict tensors_dict(const T& owner, const std::vector<tensor_spec>& specs) {
  py::dict d;
  for (auto& s : specs) d[py::str(s.name)] = tensor_of(owner, s.name);
  return d;
}

py::object attr_tensor(const std::shared_ptr<dataset_state>& ds, const std::string& name) {
  try {
    return py::cast(tensor_of(ds, name));
  } catch (const error& e) {
    if (e.code() != errc::not_found) throw;
    throw py::attribute_error("Dataset has no attribute or tensor '" + name + "'");
  }
}

constexpr const char* search_doc =
  "Top-k rows of an embedding tensor (float32 [d]) for queries (array-like [q, d], or [d]): "
  "a tuple (indices int64, scores float32), each [q, k] (or [k]), best first; ties by index. "
  "metric: 'cos' or 'ip' (higher is better) or 'l2' (squared distance, lower is better). "
  "exact=True scans every row even if the tensor has an index of this metric. rows=(first, last) "
  "and where={int_tensor: [values]} filter (and always scan). A query short of k hits is padded "
  "with index -1, score NaN. Runs without the GIL.";

/// serialake.lock and unlock: the URI's backend, else the lock file's.
std::shared_ptr<lock_backend> lock_helper_backend(const std::optional<std::string>& uri) {
  auto b = backend_for(uri);
  return b ? b : file_lock_backend();
}

}  // namespace

PYBIND11_MODULE(_serialake, m) {
  m.doc() = "serialake's C++ extension; use the `serialake` package.";
  register_errors();
  bind_tensor(m);

  py::class_<snapshot_ref>(m, "Snapshot", "An immutable committed version of a dataset; readable from any thread.")
    .def_property_readonly("path", [](const snapshot_ref& s) { return s.snap->path(); })
    .def_property_readonly("version", [](const snapshot_ref& s) { return s.snap->version(); })
    .def_property_readonly("tensors", [](const snapshot_ref& s) { return tensors_dict(s, s.snap->tensors()); },
                           "name -> Tensor, in creation order.")
    .def("__getitem__", [](const snapshot_ref& s, const std::string& n) { return tensor_of(s, n); })
    .def("__contains__", [](const snapshot_ref& s, const std::string& n) { return s.snap->has_tensor(n); })
    .def("__len__", [](const snapshot_ref& s) { return min_length(*s.snap); }, "The shortest tensor's length.")
    .def("verify", [](const snapshot_ref& s) {
      std::vector<problem> found;
      {
        py::gil_scoped_release nogil;
        found = s.snap->verify();
      }
      py::list out;
      for (auto& p : found)
        out.append(py::dict(py::arg("tensor") = p.tensor, py::arg("index") = p.index, py::arg("file") = p.file,
                            py::arg("message") = p.message));
      return out;
    }, "Re-reads every sample and checks its checksum; a list of problems (dicts), empty if none.")
    .def("search", [](const snapshot_ref& s, const std::string& tensor, py::handle queries, size_t k,
                      const std::string& metric, bool exact, unsigned threads,
                      std::optional<std::pair<uint64_t, uint64_t>> rows, std::optional<py::dict> where) {
      return search_snapshot(s.snap, tensor, queries, k, metric, exact, threads, rows, std::move(where));
    }, py::arg("tensor"), py::arg("queries"), py::arg("k") = 10, py::arg("metric") = "cos",
       py::arg("exact") = false, py::arg("threads") = 1, py::arg("rows") = py::none(),
       py::arg("where") = py::none(), search_doc);

  using ds_ptr = std::shared_ptr<dataset_state>;
  py::class_<dataset_state, ds_ptr>(m, "Dataset", "An open dataset (serialake.open). Thread-safe.")
    .def_property_readonly("path", [](const ds_ptr& d) { return d->handle().path(); })
    .def_property_readonly("read_only", [](const ds_ptr& d) { return d->handle().read_only(); })
    .def_property_readonly("version", [](const ds_ptr& d) {
      py::gil_scoped_release nogil;
      return d->current()->version();
    }, "The version reads see (a writer's appends are flushed first).")
    .def("create_tensor", [](const ds_ptr& d, const std::string& name, py::object dt, const std::string& htype,
                             std::optional<shape_t> shape) {
      d->create_tensor(tensor_spec{name, dtype_of(dt, htype), htype, shape});
      return tensor_of(d, name);
    }, py::arg("name"), py::arg("dtype") = py::none(), py::arg("htype") = "generic", py::arg("shape") = py::none(),
       "Adds a tensor: dtype a name ('float32', 'bytes', 'text', 'json', ...) or a NumPy dtype; "
       "shape fixes every sample's shape. Returns the Tensor.")
    .def_property_readonly("tensors", [](const ds_ptr& d) {
      std::vector<tensor_spec> specs;
      {
        py::gil_scoped_release nogil;
        specs = d->handle().tensors();
      }
      return tensors_dict(d, specs);
    }, "name -> Tensor, in creation order.")
    .def("__getitem__", [](const ds_ptr& d, const std::string& n) { return tensor_of(d, n); })
    .def("__getattr__", &attr_tensor)
    .def("__contains__", [](const ds_ptr& d, const std::string& n) {
      try {
        d->spec(n);
        return true;
      } catch (const error& e) {
        if (e.code() != errc::not_found) throw;
        return false;
      }
    })
    .def("__len__", [](const ds_ptr& d) {
      py::gil_scoped_release nogil;
      return min_length(*d->current());
    }, "The shortest tensor's length.")
    .def("append", &dataset_state::append_row, py::arg("row"),
         "Queues one row {tensor: value}, applied and committed together; returns at once.")
    .def("extend", &dataset_state::extend, py::arg("columns"),
         "Appends rows given as {tensor: [values]}, all or nothing; waits until applied.")
    .def("flush", [](const ds_ptr& d) { return commit_dict(d->commit("")); },
         "Commits everything appended before; durable when it returns. Raises an earlier append's error.")
    .def("commit", [](const ds_ptr& d, const std::string& msg) { return commit_dict(d->commit(msg)); },
         py::arg("message"), "flush() as a named version kept in the log.")
    .def("log", [](const ds_ptr& d, bool all) {
      std::vector<commit_info> cs;
      {
        py::gil_scoped_release nogil;
        cs = d->handle().log(all);
      }
      py::list out;
      for (auto& c : cs) out.append(commit_dict(c));
      return out;
    }, py::arg("all") = false, "Named commits (all commits if all=True), oldest first, as dicts.")
    .def("refresh", &dataset_state::refresh, "Read-only: picks up newer commits; True if there were.")
    .def("snapshot", [](const ds_ptr& d) {
      py::gil_scoped_release nogil;
      return snapshot_ref{d->current()};
    }, "The last commit (a writer's appends flushed first) as an immutable Snapshot.")
    .def("search", [](const ds_ptr& d, const std::string& tensor, py::handle queries, size_t k,
                      const std::string& metric, bool exact, unsigned threads,
                      std::optional<std::pair<uint64_t, uint64_t>> rows, std::optional<py::dict> where) {
      std::shared_ptr<const snapshot> snap;
      {
        py::gil_scoped_release nogil;
        snap = d->current();
      }
      return search_snapshot(snap, tensor, queries, k, metric, exact, threads, rows, std::move(where));
    }, py::arg("tensor"), py::arg("queries"), py::arg("k") = 10, py::arg("metric") = "cos",
       py::arg("exact") = false, py::arg("threads") = 1, py::arg("rows") = py::none(),
       py::arg("where") = py::none(), search_doc)
    .def("create_index", [](const ds_ptr& d, const std::string& tensor, const std::string& metric, size_t links,
                            size_t ef_construction, size_t ef_search, unsigned threads) {
      std::shared_ptr<const snapshot> snap;
      {
        py::gil_scoped_release nogil;
        snap = d->current();
      }
      return create_index_py(snap, tensor, metric, links, ef_construction, ef_search, threads);
    }, py::arg("tensor"), py::arg("metric") = "cos", py::arg("m") = 16, py::arg("ef_construction") = 200,
       py::arg("ef_search") = 64, py::arg("threads") = 2,
       "Builds (or rebuilds) the tensor's ANN index (HNSW) from the last commit, under the dataset "
       "directory; searches of this metric then use it. Returns {metric, rows, version}. Rows "
       "committed later are scanned by searches until update_index adds them.")
    .def("update_index", [](const ds_ptr& d, const std::string& tensor) {
      index_info info;
      {
        py::gil_scoped_release nogil;
        info = update_index(*d->current(), tensor);
      }
      return index_dict(info);
    }, py::arg("tensor"), "Adds the rows committed since to the tensor's index (NotFoundError if it has none).")
    .def("close", &dataset_state::close, "Commits what is pending and releases the dataset and its lock.")
    .def("__enter__", [](const ds_ptr& d) { return d; })
    .def("__exit__", [](const ds_ptr& d, py::object type, py::object, py::object) {
      if (type.is_none()) return d->close();
      try {
        d->close();  // the exception in flight matters more than one from close
      } catch (const error&) {
      }
    })
    .def("__repr__", [](const ds_ptr& d) { return "<serialake.Dataset " + d->handle().path() + ">"; });

  m.def("open", &open_dataset, py::arg("path"), py::arg("read_only") = false, py::arg("lock_timeout") = 0.0,
        py::arg("create") = false, py::arg("durable") = false, py::arg("lock") = py::none(),
        py::arg("version") = py::none(),
        "Opens (create=True: creates) the dataset at path. A writer takes the lock, waiting up "
        "to lock_timeout seconds; durable=True: appends complete once on disk; lock: a lock "
        "service URI (redis://, zk://, etcd://), else the lock file; version: an older version, read-only.");
  m.def("lock", [](const std::string& path, double timeout, std::optional<std::string> lock) {
    lock_settings s;
    s.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
    py::gil_scoped_release nogil;
    return lock_helper_backend(lock)->lock(path, s).describe();
  }, py::arg("path"), py::arg("lock_timeout") = 0.0, py::arg("lock") = py::none(),
     "Takes a maintenance lock that outlives this process (writers fail with LockedError until "
     "unlock); returns the holder's description.");
  m.def("unlock", [](const std::string& path, bool force, std::optional<std::string> lock) {
    py::gil_scoped_release nogil;
    return lock_helper_backend(lock)->unlock(path, force, lock_settings{});
  }, py::arg("path"), py::arg("force") = false, py::arg("lock") = py::none(),
     "Releases a maintenance lock or a dead holder's lock (a live writer's only with force); "
     "returns what was done.");
  m.def("_shutdown", [] {
    py::gil_scoped_release nogil;
    shutdown_engine();
  }, "Closes every open dataset (registered with atexit).");
}
