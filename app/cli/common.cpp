// Pieces every command shares: the exit-code table, option conversions and the
// --tensor argument grammar of `create`.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "app/cli/commands.hpp"
#include "core/store.hpp"
#include "serialake/lock_services.hpp"

namespace serialake::cli {

int exit_code(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
    case errc::schema_mismatch:
    case errc::corrupt:
      return 65;  // EX_DATAERR
    case errc::not_found:
      return 66;  // EX_NOINPUT
    case errc::already_exists:
      return 73;  // EX_CANTCREAT
    case errc::io:
      return 74;  // EX_IOERR
    case errc::locked:
    case errc::timeout:
    case errc::lock_lost:  // our lock was broken: nothing more was committed; retry
      return 75;           // EX_TEMPFAIL
    case errc::unavailable:
      return 69;  // EX_UNAVAILABLE
    case errc::unauthenticated:
      return 77;  // EX_NOPERM
    default:
      return 70;  // EX_SOFTWARE
  }
}

std::unique_ptr<store> open_read(const std::string& path, std::optional<uint64_t> version) {
  open_options o;
  o.read_only = true;
  o.version = version;
  return store::open(path, o);
}

void report_damage(const store& s) {
  if (auto d = s.damage())
    throw error(errc::corrupt, *d + "; showed the commits before it (version " +
                                   std::to_string(s.version()) + "); see `serialake repair`");
}

std::chrono::milliseconds lock_timeout_ms(double seconds) {
  // Bounded so that now + timeout stays far inside steady_clock's range (int64
  // nanoseconds: 292 years).
  constexpr double max_seconds = 1e9;  // about 31 years
  if (!(seconds >= 0))
    throw usage_error("--lock-timeout must be a number of seconds >= 0");
  if (seconds > max_seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", seconds);
    throw usage_error(std::string("--lock-timeout ") + text +
                      " is too large (at most 1e9 seconds, about 31 years)");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += ch;  // UTF-8 passes through
        }
    }
  }
  return out;
}

lock_settings lock_wait(const std::string& path, double lock_timeout_seconds) {
  lock_settings s;
  s.timeout = lock_timeout_ms(lock_timeout_seconds);
  s.on_wait = [path, lock_timeout_seconds](const lock_holder& h) {
    std::fprintf(stderr, "serialake: waiting up to %g s for the lock of %s, held by %s\n",
                 lock_timeout_seconds, path.c_str(), h.describe().c_str());
  };
  return s;
}

std::shared_ptr<lock_backend> chosen_lock(const std::string& lock_uri) {
  const char* env = std::getenv("SERIALAKE_LOCK");
  const bool given = !lock_uri.empty();
  if (!given && (!env || !*env)) return file_lock_backend();
  try {
    return lock_backend_for(given ? lock_uri : std::string(env));
  } catch (const error& e) {
    throw usage_error(std::string(given ? "--lock" : "SERIALAKE_LOCK") + ": " + e.message());
  }
}

remote_options client_options(const remote_args& r) {
  remote_options o;
  o.token = remote_token(r.token_file);
  o.tls_ca = r.tls_ca;
  return o;
}

dataset_options writer_options(const std::string& path, double lock_timeout_seconds,
                               const std::string& lock_uri, const remote_args& r) {
  dataset_options o;
  if (is_remote_uri(path)) {
    if (!lock_uri.empty() || lock_timeout_seconds != 0)
      throw usage_error("--lock and --lock-timeout are for a dataset directory: the server holds the lock of " + path);
    const remote_options c = client_options(r);
    o.remote.token = c.token;
    o.remote.tls_ca = c.tls_ca;
    return o;
  }
  lock_settings s = lock_wait(path, lock_timeout_seconds);
  o.locking = chosen_lock(lock_uri);
  o.lock_timeout = s.timeout;
  o.on_lock_wait = std::move(s.on_wait);
  return o;
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (;;) {
    size_t at = s.find(sep, from);
    out.push_back(s.substr(from, at - from));
    if (at == std::string::npos) return out;
    from = at + 1;
  }
}

shape_t parse_shape(const std::string& text, const std::string& arg) {
  if (text == "scalar") return {};
  // "3x224x224" and "3,224,224" both mean [3, 224, 224].
  const char sep = text.find(',') != std::string::npos ? ',' : 'x';
  shape_t shape;
  for (auto& part : split(text, sep)) {
    uint64_t d = 0;
    bool ok = !part.empty() && part.size() <= 18;
    for (char c : part) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) d = d * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok)
      throw usage_error("--tensor " + arg + ": bad shape '" + text +
                        "' (expected e.g. 384, 3x224x224, 3,224,224 or scalar)");
    shape.push_back(d);
  }
  return shape;
}

}  // namespace

tensor_spec parse_tensor_arg(const std::string& text) {
  auto parts = split(text, ':');
  if (parts.size() < 2 || parts.size() > 4)
    throw usage_error("--tensor " + text + ": expected NAME:DTYPE[:HTYPE[:SHAPE]]");
  tensor_spec spec;
  spec.name = parts[0];
  try {
    check_tensor_name(spec.name);
    spec.type = parse_dtype(parts[1]);
  } catch (const error& e) {
    throw usage_error("--tensor " + text + ": " + e.message());
  }
  if (parts.size() > 2 && !parts[2].empty()) spec.htype = parts[2];
  if (parts.size() > 3 && !parts[3].empty()) {
    if (is_blob(spec.type))
      throw usage_error("--tensor " + text + ": a " + to_string(spec.type) +
                        " tensor holds blobs and cannot have a fixed shape");
    spec.shape = parse_shape(parts[3], text);
    // Every sample of a fixed shape has this size: refuse a shape no sample can have.
    if (spec.shape->size() > max_ndim)
      throw usage_error("--tensor " + text + ": more than " + std::to_string(max_ndim) + " dimensions");
    if (!data_bytes(spec.type, *spec.shape))
      throw usage_error("--tensor " + text + ": shape " + parts[3] + " needs more than 2^64 bytes per sample");
  }
  return spec;
}

}  // namespace serialake::cli
