#pragma once
// Runs the built `serialake` binary as a user would: fork/exec with a given stdin,
// capturing stdout, stderr and the exit status. SERIALAKE_CLI (a compile
// definition) is the binary's path.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace serialake::test {

/// What a finished run left behind.
struct cli_result {
  int status = -1;  ///< exit status, or 128 + signal
  std::string out;
  std::string err;
};

/// A running `serialake` (or other program) whose stdin stays open until finish().
class cli_process {
 public:
  /// Starts `program args...`; with program empty, the serialake binary.
  explicit cli_process(std::vector<std::string> args, std::string program = SERIALAKE_CLI) {
    // SIGPIPE would kill the test if a child exits before reading all its input.
    ::signal(SIGPIPE, SIG_IGN);
    args.insert(args.begin(), program);
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  cli_process(const cli_process&) = delete;
  cli_process& operator=(const cli_process&) = delete;
  ~cli_process() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      finish();
    }
  }

  /// Writes `input` to its stdin (if any), closes stdin, collects everything it
  /// prints and waits for it to exit. Reads and writes are interleaved with poll
  /// so a child that prints a lot before reading everything cannot deadlock.
  cli_result finish(const std::string& input = {}) {
    cli_result r;
    r.err = std::move(err_buf_);
    size_t written = 0;
    if (input.empty()) close_fd(in_);
    while (out_ >= 0 || err_ >= 0) {
      pollfd fds[3];
      int n = 0;
      if (in_ >= 0) fds[n++] = {in_, POLLOUT, 0};
      if (out_ >= 0) fds[n++] = {out_, POLLIN, 0};
      if (err_ >= 0) fds[n++] = {err_, POLLIN, 0};
      if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
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
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    done_ = true;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
  }

  /// Reads its stderr until `needle` appears (true) or `timeout_ms` passes.
  /// What was read is kept for finish().
  bool wait_for_stderr(const std::string& needle, int timeout_ms = 30000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (err_buf_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0 || err_ < 0) return false;
      pollfd p{err_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t got = ::read(err_, buf, sizeof buf);
      if (got <= 0) return err_buf_.find(needle) != std::string::npos;
      err_buf_.append(buf, static_cast<size_t>(got));
    }
    return true;
  }

  pid_t pid() const { return pid_; }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool done_ = false;
  std::string err_buf_;
};

/// Runs `serialake args...` with `input` on stdin to completion.
inline cli_result cli(std::vector<std::string> args, const std::string& input = {}) {
  return cli_process(std::move(args)).finish(input);
}

/// Runs another program (e.g. /usr/bin/python3) to completion.
inline cli_result run_program(const std::string& program, std::vector<std::string> args,
                              const std::string& input = {}) {
  return cli_process(std::move(args), program).finish(input);
}

/// The whole content of a file ("" if missing).
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace serialake::test
