#include "core/snapshot.hpp"

#include <algorithm>
#include <cstring>

#include "serialake/error.hpp"
#include "core/format.hpp"

namespace serialake {

snapshot::snapshot(std::string path, uint64_t version, std::vector<tensor_view> tensors,
                   std::shared_ptr<chunk_files> files)
  : path_(std::move(path)), version_(version), tensors_(std::move(tensors)),
    files_(std::move(files)) {}

bool snapshot::has_tensor(std::string_view name) const noexcept {
  return std::any_of(tensors_.begin(), tensors_.end(),
                     [&](auto& t) { return t.spec.name == name; });
}

const tensor_view& snapshot::tensor(std::string_view name) const {
  for (auto& t : tensors_)
    if (t.spec.name == name) return t;
  throw error(errc::not_found, "no tensor '" + std::string(name) + "' in " + path_ +
                                   " at version " + std::to_string(version_));
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

sample snapshot::read(std::string_view name, uint64_t index) const {
  const tensor_view& t = tensor(name);
  if (index >= t.length)
    throw error(errc::not_found, "index " + std::to_string(index) + " is out of range for tensor '" +
                                     t.spec.name + "' (length " + std::to_string(t.length) + ")");
  const index_entry& e = t.entry(index);
  const std::string& chunk = t.chunks[e.chunk];
  auto where = [&] {
    return "tensor '" + t.spec.name + "' index " + std::to_string(index) + " in chunk " +
           files_->path(t.spec.name, chunk);
  };
  std::shared_ptr<io::file> f;
  try {
    f = files_->get(t.spec.name, chunk);
  } catch (const error& ex) {
    if (ex.code() == errc::not_found) throw error(errc::corrupt, where() + ": chunk file is missing");
    throw;
  }
  // The size is the log's claim: a damaged entry can claim up to 4 GiB. Before
  // allocating a large buffer, check the chunk holds it (found by fuzzing: a
  // corrupt entry made every read of it allocate gigabytes). A small read needs
  // no fstat: its pread tells.
  constexpr uint64_t large = 1 << 20;
  if (e.size > large) {
    const uint64_t n = f->size();
    if (e.offset > n || e.size > n - e.offset)  // (no offset + size: it can wrap)
      throw error(errc::corrupt, where() + ": chunk file is truncated");
  }
  std::string buf(e.size, '\0');
  if (!f->pread_exact(buf.data(), buf.size(), e.offset))
    throw error(errc::corrupt, where() + ": chunk file is truncated");
  if (format::hash(buf.data(), buf.size()) != e.hash)
    throw error(errc::corrupt, where() + ": checksum mismatch");
  if (auto why = format::size_mismatch(t.spec, e.ndim, buf.data(), buf.size()); !why.empty())
    throw error(errc::corrupt, where() + ": " + why);
  return decode_sample(t.spec, e.ndim, buf.data(), buf.size());
}

}  // namespace serialake
