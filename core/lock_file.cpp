#include "core/lock_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "serialake/error.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/json_integer.hpp"

namespace serialake {
namespace {

std::string random_token() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// The lock file's content.
struct content {
  bool held = false;
  lock_holder who;
  std::string token;
  bool flocked = true;  // the holder holds the flock (false: it took over a broken holder)
};

std::string serialize(const content& c) {
  nlohmann::json j{{"state", c.held ? "held" : "free"}, {"kind", c.who.kind},
                   {"host", c.who.host}, {"pid", c.who.pid}, {"since_ms", c.who.since_ms},
                   {"heartbeat_ms", c.who.heartbeat_ms}, {"generation", c.who.generation},
                   {"token", c.token}, {"flock", c.flocked}};
  return j.dump() + "\n";
}

std::optional<content> parse(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    content c;
    c.held = j.at("state").get<std::string>() == "held";
    c.who.kind = j.at("kind").get<std::string>();
    c.who.host = j.at("host").get<std::string>();
    c.who.pid = json_integer::get<int>(j.at("pid"));
    c.who.since_ms = json_integer::get<int64_t>(j.at("since_ms"));
    c.who.heartbeat_ms = json_integer::get<int64_t>(j.at("heartbeat_ms"));
    c.who.generation = json_integer::get<uint64_t>(j.at("generation"));
    c.token = j.at("token").get<std::string>();
    c.flocked = j.value("flock", true);
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// True if process `pid` runs on this host: it exists (EPERM: not ours) and is
// not a zombie (a killed holder whose parent has not reaped it yet).
bool process_alive(int pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");  // size 0: read it as a stream
  std::string stat;
  if (!std::getline(in, stat)) return true;  // no /proc: kill() is all we know
  auto at = stat.rfind(") ");  // "pid (comm) S ...": comm may hold ") "
  return at == std::string::npos || at + 2 >= stat.size() || stat[at + 2] != 'Z';
}

// A holder without the flock is gone if its process on this host is, or its
// heartbeat is older than the validity (any host).
bool presumed_dead(const content& c, const lock_settings& s, int64_t now) {
  return (c.who.host == this_host() && !process_alive(c.who.pid)) ||
         now - c.who.heartbeat_ms > s.validity.count();
}

std::string lock_path(const std::string& dir) { return dir + "/" + format::lock_file; }
std::string break_path(const std::string& dir) { return lock_path(dir) + ".break"; }

// lock.break: "<generation> <time_ms>", written by a forced unlock of a live
// holder. It breaks the grant of that generation; generation 0 (never granted)
// breaks whatever grant was made before time_ms, when the lock file was
// unreadable and the holder's generation unknown.
struct broken_lock {
  uint64_t generation = 0;
  int64_t before_ms = 0;
  bool breaks(const content& grant) const {
    return generation ? generation == grant.who.generation : grant.who.since_ms <= before_ms;
  }
};

std::optional<broken_lock> read_break(const std::string& dir) {
  try {
    std::istringstream in(io::read_file(break_path(dir)));
    broken_lock b;
    if (in >> b.generation >> b.before_ms) return b;
  } catch (const error& e) {
    // Only a missing file means "not broken": one we cannot read may break
    // our grant, and taking it for absent would let a broken writer commit.
    if (e.code() != errc::not_found) throw;
  }
  return std::nullopt;
}

void write_break(const std::string& dir, uint64_t generation) {
  io::write_file_atomic(break_path(dir), std::to_string(generation) + " " + std::to_string(now_ms()) + "\n");
}

// The lock file, opened; flock state tracked.
struct lock_fd {
  io::file f;
  bool flocked = false;

  // `create`: make the file if missing (writers); probes open it read-only.
  static lock_fd open(const std::string& dir, bool create = true) {
    if (!io::exists(dir + "/" + format::schema_file))
      throw error(errc::not_found, "no dataset at " + dir);
    lock_fd l;
    l.f = io::file::open(lock_path(dir), create ? O_RDWR | O_CREAT : O_RDONLY, 0644);
    return l;
  }
  bool try_flock() {
    if (::flock(f.fd(), LOCK_EX | LOCK_NB) == 0) return flocked = true;
    if (errno != EWOULDBLOCK) throw_io("cannot lock " + f.path(), errno);
    return false;
  }
  void unflock() {
    if (flocked) ::flock(f.fd(), LOCK_UN);
    flocked = false;
  }
  std::string text() const {
    std::string out(f.size(), '\0');
    if (!f.pread_exact(out.data(), out.size(), 0)) out.clear();
    return out;
  }
  int64_t mtime_ms() const {
    struct stat st;
    if (::fstat(f.fd(), &st) != 0) return 0;
    return int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }
  void write(const content& c) {
    std::string s = serialize(c);
    f.pwrite_all(s.data(), s.size(), 0);
    f.truncate(s.size());
    f.sync();
  }
};

// With the flock held: who, if anyone, still holds the lock.
struct verdict {
  bool free = false;
  lock_holder holder;       // when not free
  uint64_t generation = 0;  // the file's generation
  std::string why;          // how a free verdict came about, for unlock's message
};

verdict judge(const lock_fd& l, const lock_settings& s) {
  verdict v;
  std::string text = l.text();
  auto c = parse(text);
  const int64_t now = now_ms();
  if (!c) {
    if (text.empty() || now - l.mtime_ms() > s.validity.count()) {
      v.free = true;
      v.why = text.empty() ? "not locked" : "the lock file was unreadable and old";
      return v;
    }
    v.holder.kind = "unknown";
    v.holder.host = "the lock file is unreadable";
    v.why = "the lock file is being written or damaged (unreadable, modified recently)";
    return v;
  }
  v.generation = c->who.generation;
  v.holder = c->who;
  if (!c->held) {
    v.free = true;
    v.why = "not locked";
  } else if (c->who.kind == "maintenance") {
    v.why = "maintenance lock";
  } else if (c->who.host == this_host() && (c->flocked || presumed_dead(*c, s, now))) {
    // A holder with the flock: we hold it now, so the holder is gone. One that
    // took over a broken lock without the flock is judged by its process and
    // heartbeat until its heartbeat gets the flock.
    v.free = true;
    v.why = c->flocked || !process_alive(c->who.pid)
                ? "its process is no longer running"
                : "its heartbeat is older than " + std::to_string(s.validity.count()) + " ms";
  } else if (c->who.host == this_host()) {
    v.holder.alive = true;
    v.why = "held by a live process on this host";
  } else if (now - c->who.heartbeat_ms > s.validity.count()) {
    v.free = true;
    v.why = "its heartbeat is older than " + std::to_string(s.validity.count()) + " ms";
  } else {
    v.holder.alive = true;
    v.why = "held by a writer on another host with a fresh heartbeat";
  }
  return v;
}

// Without the flock: a live process on this host holds it.
lock_holder live_holder(const lock_fd& l) {
  auto c = parse(l.text());
  lock_holder h;
  if (c) h = c->who;
  else {
    h.kind = "writer";
    h.host = this_host();
  }
  h.alive = true;
  return h;
}

error locked_error(const std::string& dir, const lock_holder& h, const std::string& extra = {}) {
  return error(errc::locked, "dataset " + dir + " is locked by " + h.describe() + extra);
}

// Waits per s.timeout until the flock is ours and the content says free.
// Returns the open file (flocked) and the verdict.
std::pair<lock_fd, verdict> wait_free(const std::string& dir, const lock_settings& s) {
  // Even "fail at once" retries briefly: a probe (holder()) may hold the flock
  // for a moment, and a new holder flocks before it writes its content.
  const auto deadline =
      std::chrono::steady_clock::now() + std::max(s.timeout, std::chrono::milliseconds(20));
  lock_fd l = lock_fd::open(dir);
  bool told = false;  // on_wait was called
  for (;;) {
    lock_holder h;
    if (l.try_flock()) {
      verdict v = judge(l, s);
      if (v.free) return {std::move(l), v};
      l.unflock();
      h = v.holder;
    } else {
      h = live_holder(l);
      auto c = parse(l.text());
      auto b = read_break(dir);
      // Released by a holder that never had the flock (it took over a broken
      // one, whose flock this is): free.
      if (c && !c->held && !c->flocked) {
        verdict v;
        v.free = true;
        v.generation = std::max(c->who.generation, b ? b->generation : 0);
        v.why = "not locked";
        return {std::move(l), v};
      }
      if (c && c->held && c->who.kind == "writer") {
        // A live holder broken with `unlock --force` (it may be hung, stopped or
        // partitioned) keeps its flock until it notices. We need not wait: it
        // can no longer commit (its check() sees lock.break, and the log's flock
        // fences its record, format.hpp), so the lock is free without the flock.
        if (b && b->generation && b->generation == c->who.generation) {
          verdict v;
          v.free = true;
          v.generation = c->who.generation;
          v.why = "its lock was broken";
          return {std::move(l), v};
        }
        // The flock belongs to a broken holder, not to the writer that took
        // over from it: that one is judged by its process and heartbeat, from
        // the content parsed above (a re-read could catch its heartbeat's
        // rewrite half done and see an empty file).
        if (!c->flocked && presumed_dead(*c, s, now_ms())) {
          verdict v;
          v.free = true;
          v.generation = c->who.generation;
          v.holder = c->who;
          v.why = "its process is gone or its heartbeat is stale";
          return {std::move(l), v};
        }
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string extra = h.kind == "maintenance" ? "; release it with `serialake unlock`" : "";
      throw locked_error(dir, h, extra);
    }
    if (!told && s.timeout.count() > 0 && s.on_wait) {
      told = true;
      s.on_wait(h);
    }
    // A 1 ms poll: a few microseconds of work per try, and a hand-over within
    // about a millisecond of the release (the kernel has no flock wait with a timeout).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Waits until the lock is free, then writes a grant of `kind` with a generation
// above every earlier one. Returns the file, still flocked, and the grant.
std::pair<lock_fd, content> take(const std::string& dir, const lock_settings& s,
                                 const std::string& kind) {
  auto [l, v] = wait_free(dir, s);
  content c;
  c.held = true;
  c.who.kind = kind;
  c.who.host = this_host();
  c.who.pid = static_cast<int>(::getpid());
  c.who.since_ms = c.who.heartbeat_ms = now_ms();
  auto b = read_break(dir);
  c.who.generation = std::max(v.generation, b ? b->generation : 0) + 1;
  c.token = random_token();
  c.flocked = l.flocked;
  l.write(c);
  // Without the flock the broken holder is still alive: it must go on seeing
  // lock.break. The file goes once the flock is ours (here or at a heartbeat).
  if (l.flocked) io::remove_file(break_path(dir));
  return {std::move(l), std::move(c)};
}

class file_lock : public dataset_lock {
 public:
  file_lock(std::string dir, lock_fd l, content c)
    : dir_(std::move(dir)), fd_(std::move(l)), grant_(std::move(c)) {}
  ~file_lock() override { release(); }

  uint64_t generation() const override {
    std::lock_guard<std::mutex> g(mtx_);
    return grant_.who.generation;
  }

  void check() override {
    std::lock_guard<std::mutex> g(mtx_);
    check_locked();
  }

  void heartbeat() override {
    std::lock_guard<std::mutex> g(mtx_);
    check_locked();
    // Taken over from a broken holder: the flock is ours once it lets go.
    if (!fd_.flocked && fd_.try_flock()) {
      io::remove_file(break_path(dir_));
      grant_.flocked = true;
    }
    grant_.who.heartbeat_ms = now_ms();
    fd_.write(grant_);
  }

  void raise_generation(uint64_t gen) override {
    std::lock_guard<std::mutex> g(mtx_);
    check_locked();
    if (grant_.who.generation > gen) return;
    grant_.who.generation = gen + 1;
    fd_.write(grant_);
  }

  void release() override {
    std::lock_guard<std::mutex> g(mtx_);
    if (!fd_.f) return;
    if (!lost_) {
      try {
        check_locked();
        grant_.held = false;
        fd_.write(grant_);  // keeps the generation for the next grant
      } catch (const error&) {
        // Lost or unwritable: leave the content to whoever owns it now.
      }
    }
    fd_.unflock();
    fd_.f.close();
  }

 private:
  // REQUIRES: mtx_ held.
  void check_locked() {
    auto lost = [&](const std::string& why) {
      lost_ = true;
      return error(errc::lock_lost, "the lock on " + dir_ + " (generation " +
                                        std::to_string(grant_.who.generation) + ") was lost: " +
                                        why + "; nothing more can be committed");
    };
    if (lost_ || !fd_.f) throw lost("it was released or lost before");
    if (auto b = read_break(dir_); b && b->breaks(grant_))
      throw lost("it was broken with `unlock --force`");
    auto c = parse(fd_.text());
    if (!c || !c->held || c->token != grant_.token || c->who.generation != grant_.who.generation)
      throw lost("another writer took it over");
  }

  std::string dir_;
  mutable std::mutex mtx_;
  lock_fd fd_;
  content grant_;
  bool lost_ = false;
};

}  // namespace

std::string lock_holder::describe() const {
  if (kind == "unknown") return "an unknown holder (" + host + ")";
  std::string s = kind + " pid " + std::to_string(pid) + " on host " + host;
  if (since_ms) s += " since " + iso_time(since_ms);
  s += " (generation " + std::to_string(generation) + ")";
  return s;
}

std::string this_host() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::unique_ptr<dataset_lock> file_lock_backend_impl::acquire(const std::string& dir,
                                                              const lock_settings& s) {
  auto [l, c] = take(dir, s, "writer");
  return std::make_unique<file_lock>(dir, std::move(l), std::move(c));
}

lock_holder file_lock_backend_impl::lock(const std::string& dir, const lock_settings& s) {
  auto [l, c] = take(dir, s, "maintenance");
  l.unflock();  // a maintenance lock lives in the content alone
  return c.who;
}

std::string file_lock_backend_impl::unlock(const std::string& dir, bool force, const lock_settings& s) {
  lock_fd l = lock_fd::open(dir);
  if (!l.try_flock()) {
    lock_holder h = live_holder(l);
    if (!force) throw locked_error(dir, h, ", a live process; use --force to break its lock");
    // Unreadable content (generation 0 here): break every grant made until now.
    write_break(dir, h.generation);
    return "broke the lock of live " + h.describe() +
           "; its next commit fails with lock_lost and it gives the lock up";
  }
  verdict v = judge(l, s);
  if (!v.free && v.holder.alive && !force)
    throw locked_error(dir, v.holder, ", " + v.why + "; use --force to break it");
  if (v.free && v.why == "not locked") return "dataset " + dir + " is not locked";
  content c;
  c.who = v.holder;
  c.who.generation = v.generation;
  l.write(c);  // state free, generation kept
  std::string what = v.holder.describe();
  if (v.holder.alive) {
    write_break(dir, v.generation);
    return "broke the lock of live " + what + "; its next commit fails with lock_lost";
  }
  return "released the lock of " + what + (v.free ? ": " + v.why : "");
}

std::optional<lock_holder> file_lock_backend_impl::holder(const std::string& dir, const lock_settings& s) {
  if (!io::exists(lock_path(dir))) {
    // Never locked (or its lock file was lost): no holder. Only a missing
    // dataset is not_found.
    if (!io::exists(dir + "/" + format::schema_file))
      throw error(errc::not_found, "no dataset at " + dir);
    return std::nullopt;
  }
  lock_fd l = lock_fd::open(dir, false);
  if (!l.try_flock()) return live_holder(l);
  verdict v = judge(l, s);
  l.unflock();
  if (v.free) return std::nullopt;
  return v.holder;
}

std::shared_ptr<lock_backend> file_lock_backend() {
  static auto backend = std::make_shared<file_lock_backend_impl>();
  return backend;
}

}  // namespace serialake
