#include "py_dataset.hpp"

#include <cmath>
#include <future>
#include <vector>

#include "convert.hpp"
#include "engine_slot.hpp"

namespace serialake::python {

struct dataset_state::failure {
  std::mutex mtx;
  std::optional<error> first;
};

dataset_state::dataset_state(serialake::dataset ds) : ds_(std::move(ds)), failed_(std::make_shared<failure>()) {
  py::gil_scoped_release nogil;
  for (auto& s : ds_.tensors()) specs_.emplace(s.name, s);
}

const tensor_spec& dataset_state::spec(const std::string& name) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = specs_.find(name);
    if (it != specs_.end()) return it->second;
  }
  // Created by another handle of this dataset, or by the writer we refreshed to.
  py::gil_scoped_release nogil;
  auto all = ds_.tensors();
  std::lock_guard<std::mutex> g(mtx_);
  for (auto& s : all) specs_.emplace(s.name, s);
  auto it = specs_.find(name);
  if (it == specs_.end()) throw error(errc::not_found, "dataset " + ds_.path() + " has no tensor " + name);
  return it->second;
}

void dataset_state::create_tensor(const tensor_spec& spec) {
  {
    py::gil_scoped_release nogil;
    ds_.create_tensor(spec);
  }
  std::lock_guard<std::mutex> g(mtx_);
  specs_.emplace(spec.name, spec);
}

void dataset_state::raise_failed() {
  std::optional<error> e;
  {
    std::lock_guard<std::mutex> g(failed_->mtx);
    e.swap(failed_->first);
  }
  if (e) throw *e;
}

void dataset_state::watch(append_future f) {
  touched();
  std::move(f).then([failed = failed_](append_future done) noexcept {
    try {
      done.get();
    } catch (const error& e) {
      std::lock_guard<std::mutex> g(failed->mtx);
      if (!failed->first) failed->first = e;
    }
  });
}

void dataset_state::append(const std::string& tensor, py::handle x) {
  converted c = convert(spec(tensor), x);
  // A small sample with room in the queue is copied in without blocking, in
  // less time than handing the GIL to another thread and back takes: with 16
  // threads appending 4 KiB, releasing it for every append ran at about 70k
  // samples/s, holding it at about 110k (noisy runs on 2 cores). A large
  // copy, or one that may wait for room in the queue, releases the GIL.
  if (c.size <= gil_held_bytes && ds_.queued_bytes() + c.size <= queue_bytes / 2) {
    raise_failed();
    watch(ds_.append(tensor, c.view()));
    return;
  }
  py::gil_scoped_release nogil;
  raise_failed();
  watch(ds_.append(tensor, c.view()));
}

row dataset_state::to_row(py::dict values) {
  row r;
  for (auto [k, v] : values) {
    std::string name = py::str(k);
    r.emplace_back(name, convert(spec(name), v).copy());
  }
  return r;
}

void dataset_state::append_row(py::dict values) {
  row r = to_row(values);
  py::gil_scoped_release nogil;
  raise_failed();
  watch(ds_.append_row(std::move(r)));
}

void dataset_state::extend(py::dict columns) {
  // {name: [v0, v1, ...]} -> rows {name: v_i}; every column the same length.
  std::vector<std::pair<std::string, py::sequence>> cols;
  size_t n = 0;
  for (auto [k, v] : columns) {
    cols.emplace_back(py::str(k), py::reinterpret_borrow<py::sequence>(v));
    size_t len = py::len(v);
    if (cols.size() > 1 && len != n)
      throw error(errc::invalid_argument, "extend: column " + cols.front().first + " has " + std::to_string(n) +
                                              " values, column " + cols.back().first + " " + std::to_string(len));
    n = len;
  }
  std::vector<row> rows(n);
  for (auto& [name, seq] : cols) {
    const tensor_spec& s = spec(name);
    for (size_t i = 0; i < n; ++i) rows[i].emplace_back(name, convert(s, seq[i]).copy());
  }
  py::gil_scoped_release nogil;
  raise_failed();
  append_future f = ds_.append_rows(std::move(rows));
  touched();
  f.get();
}

void dataset_state::extend_tensor(const std::string& tensor, py::iterable values) {
  const tensor_spec& s = spec(tensor);
  std::vector<sample> samples;
  for (auto v : values) samples.push_back(convert(s, v).copy());
  py::gil_scoped_release nogil;
  raise_failed();
  append_future f = ds_.append_batch(tensor, std::move(samples));
  touched();
  f.get();
}

commit_info dataset_state::settle(future<commit_info> f) {
  // The continuation runs on the dataset's callback actor after those of the
  // appends that completed before this commit: once it ran, their errors are in.
  std::promise<void> ran;
  std::optional<commit_info> info;
  std::optional<error> err;
  std::move(f).then([&](future<commit_info> done) noexcept {
    try {
      info = done.get();
    } catch (const error& e) {
      err = e;
    }
    ran.set_value();
  });
  ran.get_future().wait();
  raise_failed();
  if (err) throw *err;
  return *info;
}

commit_info dataset_state::commit(const std::string& message) {
  py::gil_scoped_release nogil;
  raise_failed();
  pending_.store(false, std::memory_order_relaxed);  // before: appends made from now on count again
  commit_info c = settle(message.empty() ? ds_.flush_async() : ds_.commit_async(message));
  stale_.store(true, std::memory_order_relaxed);
  return c;
}

void dataset_state::touched() {
  pending_.store(true, std::memory_order_relaxed);
  stale_.store(true, std::memory_order_relaxed);
}

std::shared_ptr<const snapshot> dataset_state::current() {
  std::lock_guard<std::mutex> g(snap_mtx_);
  if (pending_.exchange(false, std::memory_order_relaxed)) settle(ds_.flush_async());
  if (stale_.exchange(false, std::memory_order_relaxed) || !snap_) snap_ = ds_.snapshot();
  return snap_;
}

bool dataset_state::refresh() {
  py::gil_scoped_release nogil;
  bool newer = ds_.refresh();
  stale_.store(true, std::memory_order_relaxed);
  return newer;
}

void dataset_state::close() {
  py::gil_scoped_release nogil;
  ds_.close();
  raise_failed();
}

py::dict commit_dict(const commit_info& c) {
  py::dict d;
  d["version"] = c.version;
  d["time_ms"] = c.time_ms;
  d["lock_gen"] = c.lock_gen;
  d["message"] = c.message;
  d["samples"] = c.samples;
  return d;
}

std::shared_ptr<dataset_state> open_dataset(const std::string& path, bool read_only, double lock_timeout,
                                            bool create, bool durable, const std::optional<std::string>& lock,
                                            std::optional<uint64_t> version) {
  if (!(lock_timeout >= 0) || lock_timeout > 1e9)
    throw error(errc::invalid_argument, "lock_timeout must be a number of seconds >= 0");
  dataset_options o;
  o.create = create;
  o.read_only = read_only || version.has_value();
  o.version = version;
  o.lock_timeout = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(lock_timeout * 1000)));
  o.policy.mode = durable ? durability::durable : durability::buffered;
  o.queue_bytes = queue_bytes;
  o.locking = backend_for(lock);
  serialake::dataset ds;
  {
    py::gil_scoped_release nogil;  // the lock may take up to lock_timeout
    ds = process_engine().open(path, o);
  }
  return std::make_shared<dataset_state>(std::move(ds));
}

}  // namespace serialake::python
