// Test helper for the cross-process lock tests. Modes:
//   hold DIR               open for write, print "locked", wait for a stdin line
//                          (or EOF), close, print "released"
//   rows DIR ID N          open (lock_timeout 60 s), append N rows, close
//   commits DIR            open, commit one row at a time forever, print "committed V"
//   fenced DIR [URI MS]    open, commit a row, print "ready", wait for a stdin line,
//                          try to commit another row, print the outcome; with URI,
//                          locked by that lock service (lock_backend_for) with
//                          lock_validity MS (a Redis or etcd TTL, a ZooKeeper session)

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "serialake/dataset.hpp"
#include "serialake/lock_services.hpp"

using namespace serialake;

namespace {

void say(const std::string& s) {
  std::string line = s + "\n";
  if (::write(1, line.data(), line.size()) < 0) std::_Exit(3);
}

row make_row(int64_t w) {
  row r;
  r.emplace_back("w", sample::scalar<int64_t>(dtype::int64, w));
  r.emplace_back("s", sample::of_text("row " + std::to_string(w)));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 64;
  std::string mode = argv[1], dir = argv[2];
  try {
    engine eng;
    dataset_options o;
    o.lock_timeout = std::chrono::milliseconds(mode == "rows" ? 60000 : 0);
    o.lock_heartbeat = std::chrono::milliseconds(100);
    if (mode == "fenced" && argc == 5) {
      o.locking = lock_backend_for(argv[3]);
      o.lock_validity = std::chrono::milliseconds(std::stoll(argv[4]));
    }
    auto ds = eng.open(dir, o);
    if (mode == "hold") {
      say("locked");
      std::string line;
      std::getline(std::cin, line);
      ds.close();
      say("released");
    } else if (mode == "rows") {
      int64_t id = std::stoll(argv[3]), n = std::stoll(argv[4]);
      for (int64_t i = 0; i < n; ++i) ds.append_row(make_row(id * 1000000 + i));
      ds.flush();
      ds.close();
    } else if (mode == "commits") {
      for (int64_t i = 0;; ++i) {
        ds.append_row(make_row(i));
        auto c = ds.flush();
        say("committed " + std::to_string(c.version));
      }
    } else if (mode == "fenced") {
      ds.append_row(make_row(1));
      ds.flush();
      say("ready");
      std::string line;
      std::getline(std::cin, line);
      ds.append_row(make_row(2));
      ds.flush();
      say("committed");
    }
  } catch (const error& e) {
    say(std::string("error ") + to_string(e.code()) + ": " + e.message());
    return 1;
  }
  return 0;
}
