#include "app/cli/npy.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "serialake/error.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "samples are stored little-endian and copied into .npy as they are");

namespace serialake::cli {
namespace {

std::string shape_text(const shape_t& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::string npy_descr(dtype t) {
  switch (t) {
    case dtype::boolean: return "|b1";
    case dtype::uint8: return "|u1";
    case dtype::int8: return "|i1";
    case dtype::uint16: return "<u2";
    case dtype::int16: return "<i2";
    case dtype::uint32: return "<u4";
    case dtype::int32: return "<i4";
    case dtype::uint64: return "<u8";
    case dtype::int64: return "<i8";
    case dtype::float32: return "<f4";
    case dtype::float64: return "<f8";
    default: break;
  }
  throw error(errc::invalid_argument, std::string("a ") + to_string(t) +
                                          " tensor cannot be exported as .npy (numeric and bool only)");
}

std::string npy_header(dtype t, const shape_t& shape) {
  // Python tuple syntax: (3,) for one dimension, (3, 4) for more.
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i) tuple += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) tuple += ",";
  tuple += ")";
  std::string dict =
      "{'descr': '" + npy_descr(t) + "', 'fortran_order': False, 'shape': " + tuple + ", }";
  // magic(6) + version(2) + header_len(2) + dict + padding + '\n' = multiple of 64.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(dict.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + dict;
}

uint64_t export_npy(const snapshot& snap, const std::string& tensor, const std::string& file) {
  const tensor_spec& spec = snap.spec(tensor);
  npy_descr(spec.type);  // refuses blob dtypes before anything is written
  const uint64_t n = snap.length(tensor);

  // Every sample must have the same shape. A fixed shape guarantees it; otherwise
  // a first pass reads the shapes (export is rare; a ragged tensor must fail
  // before the file exists).
  shape_t sample_shape;
  if (spec.shape) {
    sample_shape = *spec.shape;
  } else if (n > 0) {
    sample_shape = snap.read(tensor, 0).shape;
    for (uint64_t i = 1; i < n; ++i) {
      shape_t s = snap.read(tensor, i).shape;
      if (s != sample_shape)
        throw error(errc::invalid_argument,
                    "tensor '" + tensor + "' is ragged: sample 0 has shape " + shape_text(sample_shape) +
                        ", sample " + std::to_string(i) + " has shape " + shape_text(s) +
                        "; .npy needs one shape for all samples");
    }
  }
  shape_t shape{n};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());

  std::unique_ptr<std::FILE, file_closer> f(std::fopen(file.c_str(), "wb"));
  if (!f) throw_io("cannot create " + file, errno);
  try {
    auto put = [&](const std::string& bytes) {
      if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
        throw_io("cannot write " + file, errno);
    };
    put(npy_header(spec.type, shape));
    for (uint64_t i = 0; i < n; ++i) put(snap.read(tensor, i).data);
    std::FILE* raw = f.release();
    if (std::fclose(raw) != 0) throw_io("cannot write " + file, errno);
  } catch (...) {
    f.reset();
    // Only a partial regular file is ours to remove (never e.g. /dev/full).
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) std::filesystem::remove(file, ec);
    throw;
  }
  return n;
}

}  // namespace serialake::cli
