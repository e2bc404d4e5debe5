// Durability across a real crash: a child process appends in durable mode and
// reports each completed append; it is SIGKILLed at a random moment; every
// reported append must be in the dataset with its bytes.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <sstream>
#include <thread>

#include "core/store.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;
using serialake::test::temp_dir;

namespace {

std::string payload(int t, int i) {
  return "t" + std::to_string(t) + "/" + std::to_string(i) + std::string(i % 300, char('a' + t));
}

}  // namespace

TEST_CASE("durable appends reported before a SIGKILL survive it") {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 5; ++round) {
    temp_dir d;
    auto path = d / "ds";
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(SERIALAKE_DURABLE_WRITER, SERIALAKE_DURABLE_WRITER, path.c_str(), "4", (char*)nullptr);
      ::_exit(127);
    }
    ::close(fds[1]);
    // Let it run for a while, then kill it mid-write.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    ::close(fds[0]);
    std::istringstream in(out);
    unsigned long long idx;
    int t, i;
    size_t reported = 0;
    auto s = store::open(path);  // a writer open: recovery runs
    auto snap = s->snapshot();
    while (in >> idx >> t >> i) {
      ++reported;
      REQUIRE(idx < snap->length("x"));
      REQUIRE(snap->read("x", idx).data == payload(t, i));
    }
    INFO("round " << round << ": " << reported << " acknowledged, " << snap->length("x") << " recovered");
    CHECK(reported > 0);
    CHECK(s->verify().empty());
  }
}
