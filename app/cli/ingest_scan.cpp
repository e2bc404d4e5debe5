#include "app/cli/ingest_scan.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "serialake/error.hpp"

namespace serialake::cli {
namespace {

// Bytes of the UTF-8 sequence at s[i], or 0 if none starts there. The rule core
// applies to text samples (core/types.cpp), so a name kept as is passes there.
size_t utf8_length(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  return len;
}

// .DS_Store, .git, editor droppings: not data.
bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

// The names in `dir` (without "." and ".."); returns 0 or the errno that stopped
// the listing (names read before it are kept).
int list(const std::string& dir, std::vector<std::string>& names) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno;
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (!e) {
      err = errno;
      break;
    }
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  return err;
}

const char* kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

struct walker {
  source_tree tree;
  // The folders from SRC_DIR down to the one being listed: a link to one of
  // them would make the walk endless.
  std::vector<std::pair<dev_t, ino_t>> open_dirs;

  void skip(const std::string& raw_rel, std::string why) {
    tree.skipped.push_back({stored_name(raw_rel), std::move(why)});
  }

  // What `path` is, links followed; false (and the entry reported) if that
  // cannot be told.
  bool stat_entry(const std::string& path, const std::string& raw_rel, struct stat& st) {
    if (::stat(path.c_str(), &st) == 0) return true;
    const int err = errno;
    struct stat lst;
    const bool link = ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
    if (link && err == ENOENT)
      skip(raw_rel, "dangling symbolic link");
    else if (link && err == ELOOP)
      skip(raw_rel, "symbolic link loop");
    else
      skip(raw_rel, std::string("cannot stat: ") + std::strerror(err));
    return false;
  }

  // Adds the files below folder `dir` (stat `st`) to class `cls`.
  void walk(const std::string& dir, const std::string& raw_rel, const std::string& cls,
            const struct stat& st) {
    const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
    if (std::find(open_dirs.begin(), open_dirs.end(), id) != open_dirs.end())
      return skip(raw_rel, "symbolic link to a folder that contains it");
    std::vector<std::string> names;
    if (int err = list(dir, names)) skip(raw_rel, std::string("cannot list folder: ") + std::strerror(err));
    open_dirs.push_back(id);
    for (auto& name : names) {
      if (hidden(name)) continue;
      // Built from the names as listed, so a followed link keeps its own path.
      const std::string path = dir + "/" + name, rel = raw_rel + "/" + name;
      struct stat est;
      if (!stat_entry(path, rel, est)) continue;
      if (S_ISDIR(est.st_mode))
        walk(path, rel, cls, est);
      else if (S_ISREG(est.st_mode))
        tree.files.push_back({path, stored_name(rel), cls});
      else
        skip(rel, kind(est.st_mode));
    }
    open_dirs.pop_back();
  }
};

}  // namespace

std::string stored_name(const std::string& raw) {
  bool plain = raw.empty() || raw[0] != '"';
  for (size_t i = 0, n; plain && i < raw.size(); i += n) plain = (n = utf8_length(raw, i)) != 0;
  if (plain) return raw;
  std::string out = "\"";
  for (size_t i = 0; i < raw.size();) {
    const size_t n = utf8_length(raw, i);
    if (n == 0) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(raw[i++]));
      out += hex;
    } else {
      if (raw[i] == '\\' || raw[i] == '"') out += '\\';
      out.append(raw, i, n);
      i += n;
    }
  }
  return out + '"';
}

source_tree scan_source(const std::string& src) {
  struct stat st;
  if (::stat(src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw error(errc::not_found, "no such directory: " + src);
  std::vector<std::string> names;
  if (int err = list(src, names)) throw_io("cannot list " + src, err);
  walker w;
  w.open_dirs.push_back({st.st_dev, st.st_ino});
  for (auto& name : names) {
    if (hidden(name)) continue;
    struct stat est;
    if (!w.stat_entry(src + "/" + name, name, est)) continue;
    if (S_ISDIR(est.st_mode)) {
      ++w.tree.class_folders;
      w.walk(src + "/" + name, name, stored_name(name), est);
    } else {
      w.skip(name, "not in a class folder (SRC_DIR/<class>/<file>)");
    }
  }
  if (w.tree.class_folders == 0)
    throw error(errc::invalid_argument,
                src + " has no class subfolders (expected SRC_DIR/<class>/<file> ...)");
  // Sorted stored paths: the row order, the same on every run and thread count.
  std::sort(w.tree.files.begin(), w.tree.files.end(), [](auto& a, auto& b) { return a.rel < b.rel; });
  std::sort(w.tree.skipped.begin(), w.tree.skipped.end(), [](auto& a, auto& b) { return a.rel < b.rel; });
  return std::move(w.tree);
}

}  // namespace serialake::cli
