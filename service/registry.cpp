#include "service/registry.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/store.hpp"

namespace fs = std::filesystem;

namespace serialake::service {

namespace {

// Estimated bytes (batch_cost) of appends handed to one dataset, not yet applied.
constexpr uint64_t admission_budget = 16ull << 20;

}  // namespace

std::string resolve_name(const std::string& root, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return error(errc::invalid_argument, "dataset name '" + name + "' " + why);
  };
  if (name.empty()) throw bad("is empty");
  if (name.front() == '/') throw bad("is absolute (names are relative to the server's root)");
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) throw bad("holds a control character");
  size_t from = 0;
  for (;;) {
    size_t at = name.find('/', from);
    std::string part = name.substr(from, at - from);
    if (part.empty() || part == "." || part == "..")
      throw bad("has a component '" + part + "' (no empty, '.' or '..' components)");
    if (at == std::string::npos) break;
    from = at + 1;
  }
  // Symlinks: what exists of the path, resolved, must stay under the root.
  std::error_code ec;
  fs::path full = fs::weakly_canonical(fs::path(root) / name, ec);
  if (ec) throw bad("cannot be resolved under the root (" + ec.message() + ")");
  const std::string s = full.string();
  if (s.size() <= root.size() || s.compare(0, root.size(), root) != 0 || s[root.size()] != '/')
    throw bad("leads out of the server's root through a symlink");
  return s;
}

registry::registry(std::string root, std::shared_ptr<lock_backend> locking)
  : root_(std::move(root)), locking_(std::move(locking)), eng_(std::make_unique<engine>()) {}

registry::~registry() { close_all(); }

dataset_options registry::options() const {
  dataset_options o;
  o.locking = locking_;
  o.queue_bytes = intake::queue_factor * admission_budget;  // the intake never lets it fill
  return o;
}

std::shared_ptr<intake> registry::writer(const std::string& name) {
  const std::string dir = resolve_name(root_, name);
  std::lock_guard<std::mutex> g(mtx_);
  if (closed_) throw error(errc::closed, "the server is stopping");
  auto it = open_.find(dir);
  if (it != open_.end()) return it->second;
  if (!fs::exists(dir)) throw error(errc::not_found, "no dataset '" + name + "' on this server");
  auto in = std::make_shared<intake>(eng_->open(dir, options()), admission_budget);
  spdlog::info("opened dataset {} ({})", name, dir);
  open_.emplace(dir, in);
  return in;
}

void registry::create(const std::string& name, const std::vector<tensor_spec>& specs) {
  const std::string dir = resolve_name(root_, name);
  std::error_code ec;
  fs::create_directories(fs::path(dir).parent_path(), ec);
  if (ec) throw error(errc::io, "cannot make the folders of dataset '" + name + "': " + ec.message());
  store::initialize(dir, specs);  // atomic: of concurrent creates, one wins
  spdlog::info("created dataset {} with {} tensors", name, specs.size());
}

void registry::close_all() {
  std::map<std::string, std::shared_ptr<intake>> open;
  {
    std::lock_guard<std::mutex> g(mtx_);
    closed_ = true;
    open.swap(open_);
  }
  for (auto& [dir, in] : open) {
    try {
      in->target().close();
      spdlog::info("closed {}", dir);
    } catch (const error& e) {
      spdlog::error("closing {}: {}", dir, e.what());
    }
  }
}

}  // namespace serialake::service
