// The bare round trips of a lock service (bench/lock_bench.hpp): the same
// operations acquire+release does, with the service's own client and nothing
// else. Redis: SET key token NX PX 10000, then DEL key, on one hiredis connection.

#include <hiredis/hiredis.h>

#include <stdexcept>

#include "bench/lock_bench.hpp"
#include "serialake/lock_uri.hpp"

namespace serialake::bench {

struct bare_round_trip::impl {
  redisContext* ctx = nullptr;
};

bare_round_trip::bare_round_trip(const std::string& text) : impl_(new impl) {
  const lock_service_uri uri = parse_lock_uri(text);
  if (uri.scheme != "redis") throw std::runtime_error("no bare round trips for " + uri.scheme + " in this build");
  impl_->ctx = redisConnectWithTimeout(uri.host.c_str(), uri.port, timeval{2, 0});
  if (!impl_->ctx || impl_->ctx->err) throw std::runtime_error("cannot connect to " + text);
}

bare_round_trip::~bare_round_trip() {
  if (impl_->ctx) redisFree(impl_->ctx);
}

void bare_round_trip::once() {
  for (const char* cmd : {"SET serialake-bench-bare 0123456789abcdef0123456789abcdef NX PX 10000",
                          "DEL serialake-bench-bare"}) {
    auto* r = static_cast<redisReply*>(redisCommand(impl_->ctx, cmd));
    if (!r) throw std::runtime_error("the Redis server went away");
    freeReplyObject(r);
  }
}

std::string bare_round_trip::what() const { return "set_nx_del"; }

}  // namespace serialake::bench
