// The service against clients that misbehave: requests our client never sends
// (from Python grpcio stubs generated from the .proto, tests/service/hostile_client.py),
// a client that goes away mid-stream, one that stops reading, and deadlines.

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/store.hpp"
#include "serialake/remote.hpp"
#include "tests/expect_code.hpp"
#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

const std::vector<tensor_spec> schema{{"id", dtype::int64, "generic", shape_t{}}, {"blob", dtype::bytes, "generic", {}}};

const std::string hostile = SERIALAKE_SOURCE_DIR "/tests/service/hostile_client.py";

// The resident memory of process `pid`, in KiB (/proc/PID/status VmRSS).
long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

TEST_CASE("remote: hostile requests get their error codes and the server stays up") {
  // Kills: a server that crashes, hangs or accepts on giant shapes, unknown
  // dtypes, short sample bytes, unknown tensors or datasets, or a message past
  // the 64 MiB limit; and errors flattened to one code.
  server_process srv;
  remote_dataset::create(srv.uri("h"), schema);
  temp_dir stubs;
  python_stubs(stubs.path());
  auto r = run_program("/usr/bin/python3", {hostile, stubs.path(), srv.target(), "h", "probes"});
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  std::map<std::string, std::string> got;
  std::istringstream lines(r.out);
  std::string c, g, s;
  while (lines >> c >> g >> s) got[c] = g + " " + s;
  // A bad batch fails alone in its reply (the stream's status is OK).
  CHECK(got["giant-shape"] == "OK INVALID_ARGUMENT");
  CHECK(got["many-dims"] == "OK INVALID_ARGUMENT");
  CHECK(got["unknown-dtype"] == "OK INVALID_ARGUMENT");
  CHECK(got["wrong-dtype"] == "OK SCHEMA_MISMATCH");
  CHECK(got["short-data"] == "OK INVALID_ARGUMENT");
  CHECK(got["unknown-tensor"] == "OK NOT_FOUND");
  CHECK(got["unknown-dataset-append"] == "OK NOT_FOUND");
  // gRPC itself refuses the message past the server's limit.
  CHECK(got["oversized"] == "RESOURCE_EXHAUSTED -");
  CHECK(got["unknown-dataset-info"] == "NOT_FOUND NOT_FOUND");
  CHECK(got["unknown-dataset-read"] == "NOT_FOUND NOT_FOUND");
  CHECK(got["giant-create"] == "INVALID_ARGUMENT INVALID_ARGUMENT");
  CHECK(got["bad-create-dtype"] == "INVALID_ARGUMENT INVALID_ARGUMENT");
  CHECK(got["read-past-end"] == "OK -");
  // Nothing was applied, and the server still serves.
  remote_dataset ds(srv.uri("h"));
  CHECK(ds.append_row({{"id", sample::scalar<int64_t>(dtype::int64, 1)}, {"blob", sample::of_bytes("x")}}).get() == 0);
}

TEST_CASE("remote: a client killed mid-stream loses only its unacknowledged batches") {
  // Kills: a server that drops or re-applies acknowledged batches when the
  // stream breaks, or acknowledges a batch at another index than it applied.
  server_process srv;
  const std::string uri = srv.uri("cut");
  remote_dataset::create(uri, schema);
  temp_dir stubs;
  python_stubs(stubs.path());
  cli_process client({hostile, stubs.path(), srv.target(), "cut", "disconnect"}, "/usr/bin/python3");
  std::map<uint64_t, uint64_t> acked;  // seq -> first index
  while (acked.size() < 30) {
    std::istringstream l(client.line());
    std::string word;
    uint64_t seq = 0, first = 0;
    REQUIRE(l >> word >> seq >> first);
    REQUIRE(word == "ack");
    acked[seq] = first;
  }
  client.kill(SIGKILL);
  client.wait();
  remote_dataset ds(uri);
  ds.flush();  // commits what was applied (buffered acknowledgements)
  std::map<uint64_t, int64_t> ids;
  std::set<int64_t> seen;
  ds.read(0, std::nullopt, {"id"}, [&](uint64_t index, row& r) {
    const int64_t id = r.at(0).second.as<int64_t>()[0];
    CHECK(seen.insert(id).second);  // no row twice
    ids[index] = id;
  });
  for (auto& [seq, first] : acked)
    for (uint64_t i = 0; i < 10; ++i) {
      INFO("batch " << seq << " row " << i);
      REQUIRE(ids.count(first + i) == 1);
      CHECK(ids[first + i] == static_cast<int64_t>(10 * seq + i));
    }
}

TEST_CASE("remote: a client that stops reading a Read stream holds the server's memory bounded") {
  // Kills: a Read that produces blocks ahead of the client (its memory would
  // grow by the dataset's 48 MiB).
  server_process srv;
  const std::string uri = srv.uri("big");
  remote_dataset::create(uri, schema);
  {
    remote_dataset ds(uri);
    const std::string blob(16 << 10, 'b');
    for (int64_t i = 0; i < 3072; ++i)
      ds.append_row({{"id", sample::scalar<int64_t>(dtype::int64, i)}, {"blob", sample::of_bytes(blob)}});
    ds.flush();
  }
  const long before = rss_kib(srv.proc().pid());
  temp_dir stubs;
  python_stubs(stubs.path());
  cli_process client({hostile, stubs.path(), srv.target(), "big", "stall"}, "/usr/bin/python3");
  REQUIRE(client.line() == "stalled");
  // The server answers other calls meanwhile, and has sent what it will
  // without the client (flow control stops it within its block and windows).
  remote_dataset other(uri);
  CHECK(other.info().tensors.at(0).length == 3072);
  const long stalled = rss_kib(srv.proc().pid());
  INFO("VmRSS before " << before << " KiB, stalled " << stalled << " KiB");
  CHECK(stalled - before < 16 * 1024);
  client.kill(SIGKILL);
  client.wait();
}

TEST_CASE("remote: a call past its deadline fails with errc::timeout") {
  // Kills: DEADLINE_EXCEEDED mapped to another errc (or a deadline not set).
  server_process srv;
  remote_dataset::create(srv.uri("d"), schema);
  remote_options o;
  o.deadline = std::chrono::milliseconds(0);
  CHECK(expect_code(errc::timeout, [&] { remote_dataset(srv.uri("d"), o); }));
}

TEST_CASE("remote: batches past the dataset's admission budget are parked and all applied in stream order") {
  // Each 9 MiB batch costs more than the whole per-dataset budget (intake.hpp),
  // so it goes alone and the other streams' batches park meanwhile. Kills: a
  // parked batch never admitted (its future would not complete in time), lost,
  // or started out of its stream's order.
  server_process srv;
  const std::string uri = srv.uri("park");
  remote_dataset::create(uri, schema);
  constexpr int streams = 3, batches = 2;
  std::vector<std::unique_ptr<remote_dataset>> handles;
  std::vector<std::vector<future<uint64_t>>> futures(streams);
  for (int s = 0; s < streams; ++s) handles.push_back(std::make_unique<remote_dataset>(uri));
  const std::string blob(9 << 20, 'p');
  for (int b = 0; b < batches; ++b)
    for (int s = 0; s < streams; ++s)
      futures[s].push_back(handles[s]->append_row(
          {{"id", sample::scalar<int64_t>(dtype::int64, s * batches + b)}, {"blob", sample::of_bytes(blob)}}));
  for (int s = 0; s < streams; ++s) {
    uint64_t last = 0;
    for (int b = 0; b < batches; ++b) {
      REQUIRE(futures[s][b].wait_for(std::chrono::seconds(60)));
      const uint64_t index = futures[s][b].get();
      if (b > 0) CHECK(index > last);
      last = index;
    }
  }
  handles[0]->flush();
  std::set<int64_t> ids;
  handles[0]->read(0, std::nullopt, {"id"}, [&](uint64_t, row& r) { ids.insert(r.at(0).second.as<int64_t>()[0]); });
  CHECK(ids.size() == static_cast<size_t>(streams * batches));
}
