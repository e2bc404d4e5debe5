#include "tests/core/power_loss.hpp"

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace serialake::test {

struct power_loss::model {
  // A file or directory, by identity (a rename moves it, the name is its parent's).
  struct node {
    bool dir = false;
    std::string synced;                          // file: content at its last fsync
    std::map<std::string, size_t> live, synced_entries;  // dir: entries now / at its last fsync
  };
  static constexpr size_t none = SIZE_MAX;

  std::string root;
  mutable std::mutex mtx;
  std::vector<node> nodes;  // nodes[0] is root
  counts seen;
  uint64_t crash_at = 0;
  std::string synced_dir, names_dir;
  bool crashed = false;

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Everything under `path` as it is now, synced.
  size_t adopt(const fs::path& path) {
    const size_t id = nodes.size();
    nodes.emplace_back();
    if (!fs::is_directory(path)) {
      nodes[id].synced = slurp(path);
      return id;
    }
    nodes[id].dir = true;
    for (auto& e : fs::directory_iterator(path)) {
      const size_t child = adopt(e.path());
      nodes[id].live[e.path().filename()] = child;
    }
    nodes[id].synced_entries = nodes[id].live;
    return id;
  }

  // The directory node holding `path` and the name in it; none if outside root.
  std::pair<size_t, std::string> parent_of(const std::string& path) const {
    if (path.compare(0, root.size() + 1, root + "/") != 0) return {none, {}};
    size_t at = 0;
    size_t pos = root.size() + 1;
    for (;;) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) return {at, path.substr(pos)};
      auto it = nodes[at].live.find(path.substr(pos, slash - pos));
      if (it == nodes[at].live.end() || !nodes[it->second].dir) return {none, {}};
      at = it->second;
      pos = slash + 1;
    }
  }

  size_t find(const std::string& path) const {
    if (path == root) return 0;
    auto [dir, name] = parent_of(path);
    if (dir == none) return none;
    auto it = nodes[dir].live.find(name);
    return it == nodes[dir].live.end() ? none : it->second;
  }

  // A new file or directory at `path`; false if it exists or is outside root.
  bool create(const std::string& path, bool dir) {
    auto [parent, name] = parent_of(path);
    if (parent == none || nodes[parent].live.count(name)) return false;
    nodes.emplace_back();
    nodes.back().dir = dir;
    nodes[parent].live[name] = nodes.size() - 1;
    return true;
  }

  bool rename(const std::string& from, const std::string& to) {
    auto [fdir, fname] = parent_of(from);
    auto [tdir, tname] = parent_of(to);
    if (fdir == none || tdir == none || !nodes[fdir].live.count(fname)) return false;
    const size_t id = nodes[fdir].live[fname];
    nodes[fdir].live.erase(fname);
    nodes[tdir].live[tname] = id;
    return true;
  }

  void write_image(size_t id, const fs::path& out, bool names) const {
    const node& n = nodes[id];
    if (!n.dir) {
      std::ofstream(out, std::ios::binary) << n.synced;
      return;
    }
    fs::create_directory(out);
    for (auto& [name, child] : names ? n.live : n.synced_entries) write_image(child, out / name, names);
  }

  // `path` relative to root, with the names that differ from run to run
  // (random writer ids) replaced by what they are.
  std::string role(const std::string& path) const {
    if (path == root) return "<root>";
    std::string out;
    for (auto& part : fs::path(path.substr(root.size() + 1))) {
      std::string p = part.string();
      if (p.find(".creating-") != std::string::npos) p = p.substr(0, p.find(".creating-")) + ".creating-<id>";
      if (p.size() > 4 && p.compare(p.size() - 4, 4, ".chk") == 0) p = "<chunk>";
      out += (out.empty() ? "" : "/") + p;
    }
    return out;
  }

  // REQUIRES: mtx. Counts a crash point whose effect is in the model; crashes
  // there if asked to.
  void count(uint64_t& kind) {
    ++kind;
    if (crashed || crash_at == 0 || seen.total() != crash_at) return;
    write_image(0, synced_dir, false);
    write_image(0, names_dir, true);
    crashed = true;
  }

  void observe(const io::call& c) {
    std::lock_guard<std::mutex> g(mtx);
    switch (c.kind) {
      case io::op::open:
        if ((c.flags & O_CREAT) && create(c.path, false)) count(seen.new_files);
        break;
      case io::op::mkdir:
        if (create(c.path, true)) count(seen.new_files);
        break;
      case io::op::rename:
        if (rename(c.path, *c.to)) count(seen.renames);
        break;
      case io::op::remove: {
        auto [dir, name] = parent_of(c.path);
        if (dir != none) nodes[dir].live.erase(name);
        break;
      }
      case io::op::sync: {
        const size_t id = find(c.path);
        if (id == none) break;
        // The hook runs just before the sync; nothing else writes the file
        // meanwhile, so this is what the sync makes durable.
        ++seen.syncs_of[role(c.path)];
        if (nodes[id].dir) {
          nodes[id].synced_entries = nodes[id].live;
          count(seen.dir_syncs);
        } else {
          nodes[id].synced = slurp(c.path);
          count(seen.file_syncs);
        }
        break;
      }
      default:
        break;
    }
  }
};

namespace {

// The model of `root` as it is now, all of it synced. Made before the hook is
// installed (members initialize in order), so no call is missed or half seen.
std::unique_ptr<power_loss::model> start(std::string root) {
  auto m = std::make_unique<power_loss::model>();
  m->root = std::move(root);
  m->adopt(m->root);
  return m;
}

}  // namespace

power_loss::power_loss(std::string root)
  : m_(start(std::move(root))), guard_([m = m_.get()](const io::call& c) {
      m->observe(c);
      return io::fault{};
    }) {}

power_loss::~power_loss() = default;

std::string power_loss::counts::sync_list() const {
  std::string out;
  for (auto& [what, n] : syncs_of) out += "\n  " + what + ": " + std::to_string(n);
  return out;
}

power_loss::counts power_loss::seen() const {
  std::lock_guard<std::mutex> g(m_->mtx);
  return m_->seen;
}

void power_loss::crash_after(uint64_t k, std::string synced_dir, std::string names_dir) {
  std::lock_guard<std::mutex> g(m_->mtx);
  m_->crash_at = k;
  m_->synced_dir = std::move(synced_dir);
  m_->names_dir = std::move(names_dir);
}

bool power_loss::crashed() const {
  std::lock_guard<std::mutex> g(m_->mtx);
  return m_->crashed;
}

}  // namespace serialake::test
