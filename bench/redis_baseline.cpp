#include "bench/redis_baseline.hpp"

#include <hiredis/hiredis.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/locks/redis_server.hpp"

namespace serialake::bench {

struct redis_baseline::impl {
  // No AOF rewrites: they would add a fork and a rewrite to some cells only.
  test::redis_server server{{"--appendonly", "yes", "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0"}};
  int list = 0;  // a fresh list per cell
};

namespace {

// A connection to the baseline server; throws on failure.
redisContext* connect(uint16_t port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (!c || c->err) throw std::runtime_error("cannot connect to the bench's redis-server");
  return c;
}

// Reads one reply; throws on an error reply or a broken connection.
void expect_reply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK || !r) throw std::runtime_error("redis-server went away");
  const bool bad = static_cast<redisReply*>(r)->type == REDIS_REPLY_ERROR;
  std::string why = bad ? static_cast<redisReply*>(r)->str : "";
  freeReplyObject(r);
  if (bad) throw std::runtime_error("redis-server: " + why);
}

}  // namespace

redis_baseline::redis_baseline() : impl_(std::make_unique<impl>()) {}
redis_baseline::~redis_baseline() = default;

double redis_baseline::rpush_rate(bool durable, size_t size, uint64_t total, int connections, int window) {
  const uint16_t port = impl_->server.port();
  const std::string key = "list" + std::to_string(impl_->list++);
  {
    redisContext* c = connect(port);
    redisAppendCommand(c, "CONFIG SET appendfsync %s", durable ? "always" : "everysec");
    expect_reply(c);
    redisFree(c);
  }
  const uint64_t each = total / static_cast<uint64_t>(connections);
  std::vector<redisContext*> conns;
  for (int i = 0; i < connections; ++i) conns.push_back(connect(port));
  const std::string payload(size, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  std::vector<std::string> failures(conns.size());
  for (size_t i = 0; i < conns.size(); ++i)
    ts.emplace_back([&, i] {
      try {
        redisContext* c = conns[i];
        uint64_t sent = 0, answered = 0;
        while (answered < each) {
          while (sent < each && sent - answered < static_cast<uint64_t>(window)) {
            redisAppendCommand(c, "RPUSH %b %b", key.data(), key.size(), payload.data(), payload.size());
            ++sent;
          }
          expect_reply(c);  // flushes the pipeline, then waits for the oldest reply
          ++answered;
        }
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string failed;
  for (auto& f : failures)
    if (!f.empty()) failed = f;
  if (failed.empty()) {
    redisAppendCommand(conns[0], "DEL %b", key.data(), key.size());  // the next cells need the memory
    expect_reply(conns[0]);
  }
  for (auto* c : conns) redisFree(c);
  if (!failed.empty()) throw std::runtime_error(failed);
  return static_cast<double>(each * conns.size()) / secs;
}

}  // namespace serialake::bench
