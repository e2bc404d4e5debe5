#pragma once
// A child process with pipes to its stdin and stdout, for tests that need real
// processes (fork/exec).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <poll.h>
#include <string>
#include <vector>

namespace serialake::test {

class child {
 public:
  explicit child(std::vector<std::string> argv) {
    int in[2], out[2];
    // CLOEXEC: siblings must not inherit our ends, or EOF never comes.
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[0]);
      ::close(in[1]);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~child() {
    if (stdin_ >= 0) ::close(stdin_);
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    ::close(stdout_);
  }
  pid_t pid() const { return pid_; }

  /// Next line of its stdout ("" at EOF or after `timeout`).
  std::string line(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) return {};
      char b[4096];
      ssize_t n = ::read(stdout_, b, sizeof b);
      if (n <= 0) return {};
      buf_.append(b, n);
    }
  }
  /// Everything left on its stdout until EOF.
  std::string rest() {
    std::string out = buf_;
    buf_.clear();
    char b[65536];
    for (ssize_t n; (n = ::read(stdout_, b, sizeof b)) > 0;) out.append(b, n);
    return out;
  }
  void send(const std::string& s) {
    if (::write(stdin_, s.data(), s.size()) < 0) {
    }
  }
  void kill(int sig = SIGKILL) { ::kill(pid_, sig); }
  /// Waits for exit; returns the wait status.
  int wait() {
    if (status_ < 0) ::waitpid(pid_, &status_, 0);
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  int status_ = -1;
  std::string buf_;
};

}  // namespace serialake::test
