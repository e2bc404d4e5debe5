#pragma once
// A real ZooKeeper 3.8 server for the lock tests: Debian's server class run
// directly (no system service) with a zoo.cfg in a temp dir, on a free port of
// 127.0.0.1. tickTime 100 ms, so sessions of 200 ms to 20 s are allowed (the
// server clamps to 2-20 ticks). stop() kills it (its data stays: ZooKeeper syncs
// its log before it answers), start() brings it back on the same port and data,
// pause()/resume() SIGSTOP and SIGCONT it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/free_port.hpp"
#include "tests/process.hpp"
#include "tests/temp_dir.hpp"

namespace serialake::test {

class zookeeper_server {
 public:
  zookeeper_server() : port_(free_port()) {
    std::ofstream(dir_ / "zoo.cfg") << "tickTime=100\ndataDir=" << dir_.path() << "/data\nclientPort=" << port_
                                    << "\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                                       "4lw.commands.whitelist=ruok,srvr\nmaxSessionTimeout=20000\n";
    start();
  }
  ~zookeeper_server() { stop(); }

  uint16_t port() const { return port_; }
  /// "zk://127.0.0.1:<port>/<name>" (no path if `name` is empty).
  std::string uri(const std::string& name) const {
    return "zk://127.0.0.1:" + std::to_string(port_) + (name.empty() ? "" : "/" + name);
  }

  void start() {
    proc_ = std::make_unique<child>(std::vector<std::string>{
        "/bin/sh", "-c",
        "exec java -Xmx256m -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar "
        "org.apache.zookeeper.server.ZooKeeperServerMain " + dir_ / "zoo.cfg" + " >>" + dir_ / "log" + " 2>&1"});
    // Ready when it answers `ruok`. There is no event to wait on from outside
    // the JVM, so probe: each probe is bounded, and so is the whole wait.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!imok()) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("ZooKeeper did not start on port " + std::to_string(port_) + "; see " +
                                 dir_ / "log");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void stop() {
    if (!proc_) return;
    proc_->kill(SIGKILL);
    proc_->wait();
    proc_.reset();
  }
  void pause() { proc_->kill(SIGSTOP); }
  void resume() { proc_->kill(SIGCONT); }

 private:
  // One `ruok` exchange, bounded by 500 ms.
  bool imok() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, "ruok", 4) == 4) {
      char buf[8] = {0};
      pollfd p{fd, POLLIN, 0};
      ok = ::poll(&p, 1, 500) == 1 && ::read(fd, buf, 4) == 4 && std::string(buf, 4) == "imok";
    }
    ::close(fd);
    return ok;
  }

  temp_dir dir_;
  uint16_t port_;
  std::unique_ptr<child> proc_;
};

}  // namespace serialake::test
