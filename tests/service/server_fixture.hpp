#pragma once
// A real `serialake serve` process on a free 127.0.0.1 port over a temporary
// root, for the service tests; stopped (SIGKILL) when the fixture goes.

#include <signal.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/store.hpp"
#include "tests/app/cli_runner.hpp"
#include "tests/free_port.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

class server_process {
 public:
  /// Starts a server over a fresh root with `extra` flags (e.g. --token-file F).
  explicit server_process(std::vector<std::string> extra = {}) : extra_(std::move(extra)) { start(); }

  /// (Re)starts the server over the same root; a new port each time (another
  /// process may take a freed one), retried if the port was taken meanwhile.
  void start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      std::vector<std::string> args{"serve", "--listen", "127.0.0.1:" + std::to_string(port_), "--root", root_.path()};
      args.insert(args.end(), extra_.begin(), extra_.end());
      proc_ = std::make_unique<cli_process>(args);
      if (proc_->wait_for_stderr("listening on", 30000)) return;
      proc_->kill();
      proc_->wait();
    }
    throw std::runtime_error("serialake serve did not start: " + proc_->finish().err);
  }

  /// serialake://127.0.0.1:PORT/NAME
  std::string uri(const std::string& name) const { return "serialake://" + target() + "/" + name; }
  /// 127.0.0.1:PORT, as a gRPC client names the server.
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  const temp_dir& root() const { return root_; }
  cli_process& proc() { return *proc_; }

  /// Sends `sig` and waits (bounded) for the exit; returns what it left.
  cli_result stop(int sig) {
    proc_->kill(sig);
    return proc_->finish({}, std::chrono::milliseconds(30000));
  }

 private:
  temp_dir root_;
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
  std::unique_ptr<cli_process> proc_;
};

/// The committed rows of a dataset directory whose tensor "id" holds int64
/// scalars, read from disk with no server involved: id by index.
inline std::map<uint64_t, int64_t> ids_on_disk(const std::string& dir) {
  open_options o;
  o.read_only = true;
  auto snap = store::open(dir, o)->snapshot();
  std::map<uint64_t, int64_t> out;
  for (uint64_t i = 0; i < snap->length("id"); ++i) out[i] = snap->read("id", i).as<int64_t>()[0];
  return out;
}

/// Generates the Python grpcio stubs of service/serialake.proto into `dir`
/// (serialake_pb2.py, serialake_pb2_grpc.py); throws if protoc fails.
inline void python_stubs(const std::string& dir) {
  auto gen = run_program("/usr/bin/protoc",
                         {"--proto_path=" SERIALAKE_SOURCE_DIR "/service", "--python_out=" + dir,
                          "--grpc_python_out=" + dir, "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                          SERIALAKE_SOURCE_DIR "/service/serialake.proto"});
  if (gen.status != 0) throw std::runtime_error("protoc failed: " + gen.err);
}

}  // namespace serialake::test
