// snapshot: naming tensors and reading one sample (read, read_into). Range reads
// and scan are in snapshot_scan.cpp, verify in snapshot_verify.cpp.

#include "serialake/snapshot.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack: dims and data hashed apart
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "core/format.hpp"
#include "core/snapshot_data.hpp"
#include "serialake/error.hpp"

namespace serialake {

snapshot_data::snapshot_data(std::string p, uint64_t v, std::vector<tensor_view> ts,
                             std::shared_ptr<chunk_files> f)
  : path(std::move(p)), version(v), tensors(std::move(ts)), files(std::move(f)) {
  for (auto& t : tensors)
    if (t.spec.shape && !format::stores_dims(t.spec) && !is_blob(t.spec.type))
      if (auto n = data_bytes(t.spec.type, *t.spec.shape)) t.fixed_bytes = *n;
}

const tensor_view& snapshot_data::tensor(std::string_view name) const {
  for (auto& t : tensors)
    if (t.spec.name == name) return t;
  throw error(errc::not_found, "no tensor '" + std::string(name) + "' in " + path + " at version " +
                                   std::to_string(version));
}

void snapshot_data::check_range(const tensor_view& t, uint64_t begin, uint64_t end) const {
  if (begin <= end && end <= t.length) return;
  const std::string what = begin + 1 == end ? "index " + std::to_string(begin)
                                            : "range [" + std::to_string(begin) + ", " + std::to_string(end) + ")";
  throw error(errc::not_found, what + " is out of range for tensor '" + t.spec.name + "' (length " +
                                   std::to_string(t.length) + ")");
}

std::string snapshot_data::where(const tensor_view& t, uint64_t index) const {
  return "tensor '" + t.spec.name + "' index " + std::to_string(index) + " in chunk " +
         files->path(t.spec.name, t.chunks[t.entry(index).chunk]);
}

std::shared_ptr<io::file> snapshot_data::chunk(const tensor_view& t, uint64_t index) const {
  try {
    return files->get(t.spec.name, t.chunks[t.entry(index).chunk]);
  } catch (const error& ex) {
    if (ex.code() == errc::not_found) throw error(errc::corrupt, where(t, index) + ": chunk file is missing");
    throw;
  }
}

uint64_t snapshot_data::fixed_bytes(const tensor_view& t, const char* call) const {
  if (t.fixed_bytes) return *t.fixed_bytes;
  throw error(errc::schema_mismatch, std::string(call) + " needs a tensor of fixed shape; '" + t.spec.name +
                                         "' (" + to_string(t.spec.type) + ") has none: read its samples one by one "
                                         "or with read_range(tensor, begin, end)");
}

sample decode_sample(const tensor_spec& spec, uint8_t ndim, const char* p, size_t n) {
  sample s;
  s.type = spec.type;
  size_t dims = format::stores_dims(spec) ? format::dims_bytes(ndim) : 0;
  if (dims > n) throw error(errc::corrupt, "stored sample shorter than its dims");
  if (format::stores_dims(spec)) {
    s.shape.resize(ndim);
    if (dims) std::memcpy(s.shape.data(), p, dims);
  } else if (spec.shape) {
    s.shape = *spec.shape;
  } else {
    s.shape = {n};
  }
  s.data.assign(p + dims, n - dims);
  return s;
}

snapshot::snapshot(std::shared_ptr<const snapshot_data> data) : data_(std::move(data)) {}
snapshot::~snapshot() = default;

const std::string& snapshot::path() const noexcept { return data_->path; }
uint64_t snapshot::version() const noexcept { return data_->version; }

std::vector<tensor_spec> snapshot::tensors() const {
  std::vector<tensor_spec> out;
  for (auto& t : data_->tensors) out.push_back(t.spec);
  return out;
}

bool snapshot::has_tensor(std::string_view name) const noexcept {
  return std::any_of(data_->tensors.begin(), data_->tensors.end(),
                     [&](auto& t) { return t.spec.name == name; });
}

const tensor_spec& snapshot::spec(std::string_view name) const { return data_->tensor(name).spec; }
uint64_t snapshot::length(std::string_view name) const { return data_->tensor(name).length; }

sample snapshot::read(std::string_view name, uint64_t index) const {
  const tensor_view& t = data_->tensor(name);
  data_->check_range(t, index, index + 1);
  const index_entry& e = t.entry(index);
  auto f = data_->chunk(t, index);
  // The size is the log's claim: a damaged entry can claim up to 4 GiB. Before
  // allocating a large buffer, check the chunk holds it (found by fuzzing: a
  // corrupt entry made every read of it allocate gigabytes). A small read needs
  // no fstat: its pread tells.
  constexpr uint64_t large = 1 << 20;
  if (e.size > large) {
    const uint64_t n = f->size();
    if (e.offset > n || e.size > n - e.offset)  // (no offset + size: it can wrap)
      throw error(errc::corrupt, data_->where(t, index) + ": chunk file is truncated");
  }
  std::string buf(e.size, '\0');
  if (!f->pread_exact(buf.data(), buf.size(), e.offset))
    throw error(errc::corrupt, data_->where(t, index) + ": chunk file is truncated");
  if (format::hash(buf.data(), buf.size()) != e.hash)
    throw error(errc::corrupt, data_->where(t, index) + ": checksum mismatch");
  if (auto why = format::size_mismatch(t.spec, e.ndim, buf.data(), buf.size()); !why.empty())
    throw error(errc::corrupt, data_->where(t, index) + ": " + why);
  return decode_sample(t.spec, e.ndim, buf.data(), buf.size());
}

sample_extent snapshot::read_into(std::string_view name, uint64_t index, void* buffer,
                                  size_t capacity) const {
  const tensor_view& t = data_->tensor(name);
  data_->check_range(t, index, index + 1);
  const index_entry& e = t.entry(index);
  sample_extent out;
  const size_t dims = format::stores_dims(t.spec) ? format::dims_bytes(e.ndim) : 0;
  if (e.ndim > max_ndim || dims > e.size)
    throw error(errc::corrupt, data_->where(t, index) + ": stored " + std::to_string(e.size) +
                                   " bytes cannot hold " + std::to_string(e.ndim) + " dims");
  out.size = e.size - dims;
  if (capacity < out.size)
    throw error(errc::invalid_argument, "a buffer of " + std::to_string(capacity) + " bytes is too small for tensor '" +
                                            t.spec.name + "' index " + std::to_string(index) + ": it needs " +
                                            std::to_string(out.size) + " bytes");
  auto f = data_->chunk(t, index);
  // The dims prefix goes to the shape, the data to the caller: two preads, no
  // staging buffer. Only ragged numeric tensors store dims.
  auto* dims_at = reinterpret_cast<char*>(out.shape.data());
  if ((dims && !f->pread_exact(dims_at, dims, e.offset)) ||
      !f->pread_exact(buffer, out.size, e.offset + dims))
    throw error(errc::corrupt, data_->where(t, index) + ": chunk file is truncated");
  uint64_t h;
  if (dims) {
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, dims_at, dims);
    XXH3_64bits_update(&st, buffer, out.size);
    h = XXH3_64bits_digest(&st);
  } else {
    h = format::hash(buffer, out.size);
  }
  if (h != e.hash) throw error(errc::corrupt, data_->where(t, index) + ": checksum mismatch");
  if (t.fixed_bytes ? *t.fixed_bytes != e.size : !is_blob(t.spec.type)) {
    // The stored size must fit the spec (dataset.json edited under the data).
    if (auto why = format::size_mismatch(t.spec, e.ndim, dims_at, e.size); !why.empty())
      throw error(errc::corrupt, data_->where(t, index) + ": " + why);
  }
  if (dims) {
    out.ndim = e.ndim;
  } else if (t.spec.shape && t.spec.shape->size() <= max_ndim) {
    out.ndim = t.spec.shape->size();
    std::copy(t.spec.shape->begin(), t.spec.shape->end(), out.shape.begin());
  } else {
    out.ndim = 1;
    out.shape[0] = out.size;
  }
  return out;
}

}  // namespace serialake
