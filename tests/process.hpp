#pragma once
// A child process for tests that need real processes (fork/exec): pipes to its
// stdin and stdout, and optionally its stderr. Read it line by line while it runs
// (line, wait_for_stderr), or feed it input and collect everything (finish).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace serialake::test {

/// What a finished child left behind.
struct cli_result {
  int status = -1;  ///< exit status, or 128 + signal
  bool timed_out = false;  ///< it ran past its timeout and was killed
  std::string out;
  std::string err;
};

/// See above. Destroying a child that is still running kills it.
class child {
 public:
  /// Starts argv[0] with `argv`. Without `capture_stderr` the child writes to the
  /// test's own stderr (shown in the test log).
  explicit child(std::vector<std::string> argv, bool capture_stderr = false) {
    // SIGPIPE would kill the test if a child exits before reading all its input.
    ::signal(SIGPIPE, SIG_IGN);
    int in[2], out[2], err[2] = {-1, -1};
    // CLOEXEC: siblings must not inherit our ends, or EOF never comes.
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        (capture_stderr && ::pipe2(err, O_CLOEXEC) != 0))
      std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (capture_stderr) ::dup2(err[1], 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (capture_stderr) ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  /// Forks; the child runs `body` (no exec) and exits with what it returns
  /// (an exception escaping it: 99). Its stdio stays the test's.
  explicit child(const std::function<int()>& body) {
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      int rc = 99;
      try {
        rc = body();
      } catch (...) {
      }
      ::_exit(rc);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    close_fd(in_);
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    close_fd(out_);
    close_fd(err_);
  }
  pid_t pid() const { return pid_; }

  /// Next line of its stdout ("" at EOF or after `timeout`).
  std::string line(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = out_buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = out_buf_.substr(0, nl);
        out_buf_.erase(0, nl + 1);
        return l;
      }
      if (!read_some(out_, out_buf_, deadline)) return {};
    }
  }
  /// Everything left on its stdout until EOF.
  std::string rest() {
    std::string out = std::move(out_buf_);
    out_buf_.clear();
    char b[65536];
    for (ssize_t n; out_ >= 0 && (n = ::read(out_, b, sizeof b)) > 0;) out.append(b, n);
    return out;
  }
  /// Reads its stderr (captured) until `needle` appears (true) or `timeout_ms`
  /// passes. What was read is kept for finish().
  bool wait_for_stderr(const std::string& needle, int timeout_ms = 30000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (err_buf_.find(needle) == std::string::npos)
      if (!read_some(err_, err_buf_, deadline)) return err_buf_.find(needle) != std::string::npos;
    return true;
  }

  /// Writes `s` to its stdin.
  void send(const std::string& s) {
    if (in_ >= 0 && ::write(in_, s.data(), s.size()) < 0) {
      // It exited: what it printed and its status tell the test why.
    }
  }
  void kill(int sig = SIGKILL) { ::kill(pid_, sig); }
  /// Waits for exit; returns the raw wait status. A child still running after
  /// `timeout` is killed (SIGKILL) and timed_out() says so: a hung child fails
  /// its test instead of hanging it.
  int wait(std::chrono::milliseconds timeout = default_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (status_ < 0) {
      pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      status_ = -1;
      if (std::chrono::steady_clock::now() >= deadline) {
        timed_out_ = true;
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      // Sleep until it exits or the deadline: a pidfd becomes readable at exit.
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
      pollfd p{pidfd, POLLIN, 0};
      ::poll(pidfd >= 0 ? &p : nullptr, pidfd >= 0 ? 1 : 0,
             pidfd >= 0 ? static_cast<int>(left.count()) + 1 : 1);
      if (pidfd >= 0) ::close(pidfd);
    }
    return status_;
  }
  /// True if wait() or finish() had to kill it at its timeout.
  bool timed_out() const { return timed_out_; }
  /// How long wait() and finish() let a child run by default.
  static constexpr std::chrono::milliseconds default_timeout{120000};

  /// Writes `input` to its stdin (if any), closes stdin, collects everything it
  /// prints and waits for it to exit. Reads and writes are interleaved with poll
  /// so a child that prints a lot before reading everything cannot deadlock.
  cli_result finish(const std::string& input = {},
                    std::chrono::milliseconds timeout = default_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    cli_result r;
    r.out = std::move(out_buf_);
    r.err = std::move(err_buf_);
    size_t written = 0;
    if (input.empty()) close_fd(in_);
    while (out_ >= 0 || err_ >= 0) {
      pollfd fds[3];
      int n = 0;
      if (in_ >= 0) fds[n++] = {in_, POLLOUT, 0};
      if (out_ >= 0) fds[n++] = {out_, POLLIN, 0};
      if (err_ >= 0) fds[n++] = {err_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {  // hung: kill it, keep what it printed
        timed_out_ = true;
        ::kill(pid_, SIGKILL);
        break;
      }
      int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left.count()));
      if (ready < 0) {
        if (errno == EINTR) continue;
        std::abort();
      }
      for (int i = 0; i < n; ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == in_) {
          ssize_t w = ::write(in_, input.data() + written, input.size() - written);
          if (w > 0) written += static_cast<size_t>(w);
          if (w < 0 || written == input.size()) close_fd(in_);
        } else {
          char buf[65536];
          ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
          std::string& to = fds[i].fd == out_ ? r.out : r.err;
          if (got > 0) to.append(buf, static_cast<size_t>(got));
          else close_fd(fds[i].fd == out_ ? out_ : err_);
        }
      }
    }
    close_fd(in_);
    close_fd(out_);
    close_fd(err_);
    int st = wait(std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                             deadline - std::chrono::steady_clock::now())));
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.timed_out = timed_out_;
    return r;
  }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // Appends what `fd` has to `to`, waiting until `deadline`; false at EOF or timeout.
  static bool read_some(int fd, std::string& to, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (fd < 0 || left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char b[4096];
    ssize_t n = ::read(fd, b, sizeof b);
    if (n <= 0) return false;
    to.append(b, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool timed_out_ = false;
  int status_ = -1;
  std::string out_buf_, err_buf_;
};

}  // namespace serialake::test
