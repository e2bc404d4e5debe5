#include "locks/redis/redis_link.hpp"

#include <poll.h>

#include "serialake/error.hpp"

namespace serialake::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

}  // namespace

link::link(const std::string& uri, const std::string& host, int port, std::chrono::milliseconds timeout)
  : uri_(uri), ctx_(redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout)), redisFree) {
  if (!ctx_) throw error(errc::unavailable, "lock service " + uri_ + ": cannot allocate a connection");
  if (ctx_->err) fail("cannot connect within " + std::to_string(timeout.count()) + " ms");
  if (redisSetTimeout(ctx_.get(), to_timeval(timeout)) != REDIS_OK) fail("cannot set the command timeout");
}

void link::fail(const std::string& what) const {
  std::string detail = ctx_ && ctx_->err ? std::string(": ") + ctx_->errstr : std::string();
  // hiredis reports a command timeout as "Resource temporarily unavailable".
  throw error(errc::unavailable, "lock service " + uri_ + " is unreachable: " + what + detail);
}

void link::append(const std::vector<std::string>& cmd) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto& a : cmd) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
    fail("cannot send " + cmd.front());
}

void link::flush() {
  int done = 0;
  while (!done)
    if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) fail("cannot send");
}

reply link::get_reply() {
  void* r = nullptr;
  if (redisGetReply(ctx_.get(), &r) != REDIS_OK || !r) fail("no reply");
  reply out(static_cast<redisReply*>(r), freeReplyObject);
  if (out->type == REDIS_REPLY_ERROR)
    throw error(errc::internal, "lock service " + uri_ + " refused a command: " + text(out.get()));
  return out;
}

std::vector<reply> link::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  if (ctx_->err) fail("the connection failed before");
  for (auto& c : cmds) append(c);
  std::vector<reply> out;
  // Every reply is read even after an error reply: the connection stays in step.
  std::exception_ptr first;
  for (size_t i = 0; i < cmds.size(); ++i) {
    try {
      out.push_back(get_reply());
    } catch (const error& e) {
      if (e.code() == errc::unavailable) throw;
      if (!first) first = std::current_exception();
      out.push_back(reply(nullptr, freeReplyObject));
    }
  }
  if (first) std::rethrow_exception(first);
  return out;
}

reply link::command(const std::vector<std::string>& cmd) { return std::move(pipeline({cmd}).front()); }

void link::send(const std::vector<std::string>& cmd) {
  append(cmd);
  flush();
}

bool link::read_available() {
  if (ctx_->err) return false;
  pollfd p{ctx_->fd, POLLIN, 0};
  while (::poll(&p, 1, 0) > 0) {
    if (p.revents & (POLLERR | POLLNVAL)) return false;
    if (redisBufferRead(ctx_.get()) != REDIS_OK) return false;  // EOF or error
    p.revents = 0;
  }
  return true;
}

reply link::next_buffered() {
  void* r = nullptr;
  if (redisGetReplyFromReader(ctx_.get(), &r) != REDIS_OK) return reply(nullptr, freeReplyObject);
  return reply(static_cast<redisReply*>(r), freeReplyObject);
}

std::string text(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR))
    return {};
  return std::string(r->str, r->len);
}

}  // namespace serialake::redis
