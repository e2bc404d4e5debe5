#include "core/format.hpp"

#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif

#include <cstring>

namespace serialake::format {
namespace {

template <class T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts only (checked at build)
  out.append(buf, sizeof(T));
}

void put_str16(std::string& out, const std::string& s) {
  put<uint16_t>(out, static_cast<uint16_t>(s.size()));
  out += s;
}

// Bounds-checked reader over a record body; any overrun marks it failed.
struct reader {
  std::string_view in;
  bool failed = false;

  template <class T>
  T get() {
    T v{};
    if (in.size() < sizeof(T)) {
      failed = true;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof(T));
    in.remove_prefix(sizeof(T));
    return v;
  }
  std::string bytes(size_t n) {
    if (in.size() < n) {
      failed = true;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "format assumes little-endian");

uint64_t hash(const void* data, size_t size) noexcept {
#if defined(__x86_64__)
  // The same XXH3, with the widest vector unit the CPU has (AVX-512, AVX2) picked
  // at run time: 3x the speed of the SSE2 build of XXH3_64bits at 4 KiB, and
  // hashing is most of what a checked scan costs (docs/benchmarks.md).
  return XXH3_64bits_dispatch(data, size);
#else
  return XXH3_64bits(data, size);
#endif
}

std::string_view chunk_writer(std::string_view name) noexcept {
  constexpr size_t id = 16;
  if (name.size() < id + 1 + 6 + 4 || name[id] != '-' || name.substr(name.size() - 4) != ".chk")
    return {};
  if (name.find_first_not_of("0123456789abcdef") != id ||
      name.find_first_not_of("0123456789", id + 1) != name.size() - 4)
    return {};
  return name.substr(0, id);
}

bool stores_dims(const tensor_spec& spec) noexcept {
  return !is_blob(spec.type) && !spec.shape;
}

std::string size_mismatch(const tensor_spec& spec, uint8_t ndim, const char* dims, uint64_t size) {
  if (is_blob(spec.type)) return {};
  const uint64_t item = item_size(spec.type);
  uint64_t prefix = 0, elements = 1;
  if (stores_dims(spec)) {
    prefix = dims_bytes(ndim);
    if (size < prefix)
      return "stored " + std::to_string(size) + " bytes, shorter than its " + std::to_string(ndim) + " dims";
    for (uint8_t i = 0; i < ndim; ++i) {
      uint64_t d;
      std::memcpy(&d, dims + 8 * size_t{i}, 8);
      if (__builtin_mul_overflow(elements, d, &elements)) return "stored dims overflow";
    }
  } else {
    for (uint64_t d : *spec.shape)
      if (__builtin_mul_overflow(elements, d, &elements)) return "fixed shape overflows";
  }
  uint64_t want;
  if (__builtin_mul_overflow(elements, item, &want) || __builtin_add_overflow(want, prefix, &want))
    return "stored dims overflow";
  if (want == size) return {};
  return "stored " + std::to_string(size) + " bytes, but " + std::to_string(elements) + " " +
         to_string(spec.type) + " elements" + (prefix ? " and their dims" : "") + " need " +
         std::to_string(want) + " (was dataset.json's dtype or shape changed?)";
}

void encode(const record& r, std::string& out) {
  size_t header_at = out.size();
  out.append(record_header_size, '\0');
  size_t body_at = out.size();
  put<uint64_t>(out, r.version);
  put<int64_t>(out, r.time_ms);
  put<uint64_t>(out, r.lock_gen);
  put<uint32_t>(out, static_cast<uint32_t>(r.message.size()));
  out += r.message;
  put<uint32_t>(out, static_cast<uint32_t>(r.segments.size()));
  for (auto& s : r.segments) {
    put_str16(out, s.tensor);
    put_str16(out, s.chunk);
    put<uint64_t>(out, s.start);
    put<uint32_t>(out, static_cast<uint32_t>(s.entries.size()));
    for (auto& e : s.entries) {
      put<uint32_t>(out, e.size);
      put<uint8_t>(out, e.ndim);
      put<uint64_t>(out, e.hash);
    }
  }
  uint32_t body_len = static_cast<uint32_t>(out.size() - body_at);
  uint64_t h = hash(out.data() + body_at, body_len);
  uint32_t reserved = 0;
  std::memcpy(&out[header_at], &record_magic, 4);
  std::memcpy(&out[header_at + 4], &body_len, 4);
  std::memcpy(&out[header_at + 8], &r.data_len, 4);
  std::memcpy(&out[header_at + 12], &reserved, 4);
  std::memcpy(&out[header_at + 16], &h, 8);
}

size_t head_size(std::string_view in) noexcept {
  if (in.size() < record_header_size) return 0;
  uint32_t magic, body_len;
  std::memcpy(&magic, in.data(), 4);
  std::memcpy(&body_len, in.data() + 4, 4);
  return magic == record_magic ? record_header_size + body_len : 0;
}

decode_status decode(std::string_view in, record& r, size_t& used) {
  if (in.size() < record_header_size) return decode_status::truncated;
  uint32_t magic, body_len, data_len, reserved;
  uint64_t h;
  std::memcpy(&magic, in.data(), 4);
  std::memcpy(&body_len, in.data() + 4, 4);
  std::memcpy(&data_len, in.data() + 8, 4);
  std::memcpy(&reserved, in.data() + 12, 4);
  std::memcpy(&h, in.data() + 16, 8);
  if (magic != record_magic || reserved != 0) return decode_status::bad;
  if (in.size() - record_header_size < body_len) return decode_status::truncated;
  std::string_view body = in.substr(record_header_size, body_len);
  if (hash(body.data(), body.size()) != h) return decode_status::bad;
  reader rd{body};
  r = record{};
  r.version = rd.get<uint64_t>();
  r.time_ms = rd.get<int64_t>();
  r.lock_gen = rd.get<uint64_t>();
  r.message = rd.bytes(rd.get<uint32_t>());
  uint32_t nseg = rd.get<uint32_t>();
  for (uint32_t i = 0; i < nseg && !rd.failed; ++i) {
    segment s;
    s.tensor = rd.bytes(rd.get<uint16_t>());
    s.chunk = rd.bytes(rd.get<uint16_t>());
    // A chunk is a file in its tensor's folder. A name that leads elsewhere would
    // make readers open any file (a FIFO hangs them): no writer makes one.
    if (s.chunk == "." || s.chunk == ".." || s.chunk.find_first_of(std::string_view("/\0", 2)) != std::string::npos)
      return decode_status::bad;
    s.start = rd.get<uint64_t>();
    uint32_t n = rd.get<uint32_t>();
    if (rd.in.size() < uint64_t{n} * 13) return decode_status::bad;
    s.entries.resize(n);
    for (auto& e : s.entries) {
      e.size = rd.get<uint32_t>();
      e.ndim = rd.get<uint8_t>();
      e.hash = rd.get<uint64_t>();
    }
    r.segments.push_back(std::move(s));
  }
  if (rd.failed || !rd.in.empty()) return decode_status::bad;
  // data_len lies outside the body hash: it must be what the body says the
  // record carries (its inline samples), or a flipped length could make the
  // rest of the log look like one torn record.
  uint64_t inline_bytes = 0;
  for (auto& seg : r.segments)
    if (seg.chunk.empty())
      for (auto& e : seg.entries) inline_bytes += e.size;
  if (inline_bytes != data_len) return decode_status::bad;
  r.data_len = data_len;
  used = record_header_size + body_len + data_len;
  return decode_status::ok;
}

}  // namespace serialake::format
