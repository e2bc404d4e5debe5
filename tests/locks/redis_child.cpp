// The other process of the Redis fault tests:
//   fenced URI DIR TTL_MS   open DIR locked by the Redis lock at URI (TTL and
//                           validity TTL_MS, heartbeat TTL_MS/10), commit a row,
//                           print "ready", wait for a stdin line, try to commit
//                           another row, print "committed" or "error <code>: ..."

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>

#include "actors/dataset.hpp"
#include "serialake/lock_uri.hpp"
#include "serialake/locks/redis.hpp"

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
  if (argc != 5 || std::string(argv[1]) != "fenced") return 64;
  try {
    const std::chrono::milliseconds ttl(std::stoll(argv[4]));
    engine eng;
    dataset_options o;
    o.locking = redis_lock_backend(parse_lock_uri(argv[2]));
    o.lock_validity = ttl;
    o.lock_heartbeat = ttl / 10;
    auto ds = eng.open(argv[3], o);
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
