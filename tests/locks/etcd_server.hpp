#pragma once
// A real etcd 3.4 server for the tests: 127.0.0.1, free ports, data in a temp
// dir, stopped (SIGKILL, by the child's destructor) after. Fault tests stop,
// restart and pause it (SIGSTOP); the others share one per test run
// (shared_etcd()), as etcd takes about a second to start.

#include <signal.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "locks/etcd/etcd_client.hpp"
#include "serialake/error.hpp"
#include "tests/free_port.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

class etcd_server {
 public:
  etcd_server() {
    for (int attempt = 0;; ++attempt) {  // another process may take a free port first
      client_port_ = free_port();
      peer_port_ = free_port();
      if (start() || attempt == 2) break;
    }
  }

  /// Starts it (again, on the same ports and data); false if it did not come up.
  bool start() {
    const std::string c = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string p = "http://127.0.0.1:" + std::to_string(peer_port_);
    proc_ = std::make_unique<child>(std::vector<std::string>{
        "/usr/bin/etcd", "--name", "t", "--data-dir", dir_ / "data", "--logger=zap",
        "--log-outputs=" + dir_ / "etcd.log", "--listen-client-urls", c, "--advertise-client-urls", c,
        "--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", "t=" + p});
    // Ready when it answers a read. A refused connect fails at once, so this
    // polls every 20 ms, up to 15 s (it takes 0.6-1 s).
    etcd_options o;
    o.connect_timeout = o.request_timeout = std::chrono::milliseconds(1000);
    etcd::client probe(parse_lock_uri(uri("probe")), o);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < until) {
      try {
        probe.call("/v3/kv/range", {{"key", etcd::b64("probe")}});
        return true;
      } catch (const error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return false;
  }
  /// SIGTERM, and waits for it to exit.
  void stop() {
    proc_->kill(SIGTERM);
    proc_->wait(std::chrono::seconds(20));
  }
  void pause() { proc_->kill(SIGSTOP); }
  void resume() { proc_->kill(SIGCONT); }

  /// "etcd://127.0.0.1:<port>/<name>".
  std::string uri(const std::string& name) const {
    return "etcd://127.0.0.1:" + std::to_string(client_port_) + "/" + name;
  }
  /// "http://127.0.0.1:<port>", for etcdctl --endpoints.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

 private:
  temp_dir dir_;
  uint16_t client_port_ = 0, peer_port_ = 0;
  std::unique_ptr<child> proc_;
};

/// The server the tests that neither stop nor pause it share.
inline etcd_server& shared_etcd() {
  static etcd_server s;
  return s;
}

/// A lock name no other test uses ("t-<16 hex>").
inline std::string fresh_lock_name() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "t-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace serialake::test
