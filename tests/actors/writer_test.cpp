// The dataset actor's write logic, driven directly (no actor system).

#include <catch2/catch.hpp>

#include "actors/writer.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

// Queues one append of `bytes` to tensor "x" without waking anyone.
void queue_append(detail::ingest_queue& q, const std::string& bytes) {
  auto* op = new detail::append_op;
  op->tensor = "x";
  op->payload = sample::of_bytes(bytes);
  q.push(op);
  op->release();  // the caller's (future's) reference
}

}  // namespace

TEST_CASE("a commit timer that fires with appends queued still lets the next append arm one") {
  temp_dir d;
  auto st = store::create(d / "ds");
  st->create_tensor({"x", dtype::bytes, "generic", {}});
  auto q = std::make_shared<detail::ingest_queue>(1 << 20, std::nullopt, 0);
  write_policy p;  // buffered
  dataset_writer w(std::move(st), q, p);
  queue_append(*q, "a");
  CHECK(w.drain());  // pending now: arm the timer
  queue_append(*q, "b");
  w.tick();          // the timer fires while "b" is queued: both are committed
  CHECK(w.st().snapshot()->length("x") == 2);
  queue_append(*q, "c");
  CHECK(w.drain());  // pending again: a new timer must be armed
  w.tick();
  CHECK(w.st().snapshot()->length("x") == 3);
}
