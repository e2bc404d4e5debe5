#pragma once
// A real redis-server for a test: on 127.0.0.1, a free port, data in a temp dir,
// no persistence (a restart loses every key, as a failover to a replica that had
// not yet received them would), keyspace notifications off (the backend must turn
// them on). Stopped with the fixture.

#include <signal.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/free_port.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

class redis_server {
 public:
  /// `extra`: more redis-server options, after (so overriding) the ones above,
  /// e.g. {"--appendonly", "yes"}.
  explicit redis_server(std::vector<std::string> extra = {}) : extra_(std::move(extra)), port_(start_on_free_port()) {}
  ~redis_server() { stop(); }

  uint16_t port() const { return port_; }
  /// "redis://127.0.0.1:<port>/<key>".
  std::string uri(const std::string& key = {}) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + (key.empty() ? "" : "/" + key);
  }
  /// Stops it (SIGTERM, waits for the exit; SIGCONT first if paused).
  void stop() {
    if (!proc_) return;
    proc_->kill(SIGCONT);
    proc_->kill(SIGTERM);
    proc_->wait(std::chrono::milliseconds(10000));
    proc_.reset();
  }
  /// Starts it again on the same port, empty.
  void restart() {
    stop();
    if (!start(port_)) throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
  }
  /// SIGSTOP / SIGCONT: a server that hangs without closing its connections.
  void pause() { proc_->kill(SIGSTOP); }
  void resume() { proc_->kill(SIGCONT); }

 private:
  uint16_t start_on_free_port() {
    for (int attempt = 0; attempt < 5; ++attempt) {  // another process may take the port first
      const uint16_t p = free_port();
      if (start(p)) return p;
    }
    throw std::runtime_error("redis-server did not start");
  }
  // True once it logs that it accepts connections (bounded by child::line's 30 s).
  bool start(uint16_t p) {
    std::vector<std::string> args{"/usr/bin/redis-server", "--port", std::to_string(p), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", dir_.path(), "--daemonize", "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    proc_ = std::make_unique<child>(args);
    for (;;) {
      const std::string l = proc_->line();
      if (l.find("Ready to accept connections") != std::string::npos) return true;
      if (l.empty()) break;  // EOF or 30 s: it failed (e.g. the port was taken)
    }
    proc_.reset();
    return false;
  }

  temp_dir dir_;
  std::vector<std::string> extra_;
  std::unique_ptr<child> proc_;
  uint16_t port_ = 0;
};

}  // namespace serialake::test
