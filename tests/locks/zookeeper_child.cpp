// A writer holding a dataset's ZooKeeper lock, for the fault tests:
//   zookeeper_lock_child URI DIR
// opens DIR for write under the ZooKeeper lock URI (session timeout 1 s,
// heartbeat 100 ms), commits row 1, prints "ready", waits for a stdin line,
// tries to commit row 2 and prints "committed" or "error <errc>: <message>".

#include <unistd.h>

#include <iostream>
#include <string>

#include "serialake/dataset.hpp"
#include "serialake/locks/zookeeper.hpp"

using namespace serialake;

namespace {

void say(const std::string& s) {
  std::string line = s + "\n";
  if (::write(1, line.data(), line.size()) < 0) std::_Exit(3);
}

row make_row(int64_t w) {
  row r;
  r.emplace_back("w", sample::scalar<int64_t>(dtype::int64, w));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 64;
  try {
    zookeeper_options zo;
    zo.session_timeout = std::chrono::milliseconds(1000);
    engine eng;
    dataset_options o;
    o.locking = zookeeper_lock_backend(parse_lock_uri(argv[1]), zo);
    o.lock_heartbeat = std::chrono::milliseconds(100);
    auto ds = eng.open(argv[2], o);
    ds.append_row(make_row(1));
    ds.flush();
    say("ready");
    std::string line;
    std::getline(std::cin, line);
    ds.append_row(make_row(2));
    ds.flush();
    say("committed");
  } catch (const error& e) {
    say(std::string("error ") + to_string(e.code()) + ": " + e.message());
    return 1;
  }
  return 0;
}
