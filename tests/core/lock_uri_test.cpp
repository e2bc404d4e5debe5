// Lock service URIs (core/lock_uri.hpp). Mutations killed: a dropped default
// port, a leading '/' kept in the name, a bad port accepted, a derived name that
// depends on more than the canonical path.
#include <catch2/catch.hpp>

#include "serialake/lock_uri.hpp"
#include "tests/expect_code.hpp"

using namespace serialake;
using serialake::test::expect_code;

TEST_CASE("lock URIs parse into scheme, host, port and name", "[lock_uri]") {
  auto zk = parse_lock_uri("zk://127.0.0.1:2181/locks/photos");
  CHECK(zk.scheme == "zk");
  CHECK(zk.host == "127.0.0.1");
  CHECK(zk.port == 2181);
  CHECK(zk.name == "locks/photos");
  auto r = parse_lock_uri("redis://localhost/photos-lock");
  CHECK(r.port == 6379);
  CHECK(r.name == "photos-lock");
  auto e = parse_lock_uri("etcd://10.0.0.1:12379");
  CHECK(e.port == 12379);
  CHECK(e.name.empty());
  CHECK(parse_lock_uri("etcd://h/a/b/").name == "a/b");
}

TEST_CASE("bad lock URIs are refused with invalid_argument naming the URI", "[lock_uri]") {
  for (const char* bad : {"photos", "http://h:1/x", "zk://:2181/x", "zk://h:0/x", "zk://h:65536/x",
                          "zk://h:12a/x", "zk://h:/x", "zk://h/a//b", "redis://h/a\nb"}) {
    std::string msg;
    CHECK(expect_code(errc::invalid_argument, [&] { parse_lock_uri(bad); }, &msg));
    CHECK(msg.find("lock URI") != std::string::npos);
  }
}

TEST_CASE("a derived lock name depends only on the canonical path", "[lock_uri]") {
  const auto a = derived_lock_name("/data/photos.serialake");
  CHECK(a == derived_lock_name("/data/photos.serialake"));
  CHECK(a != derived_lock_name("/data/photos2.serialake"));
  CHECK(a.rfind("serialake-", 0) == 0);
  CHECK(a.size() == 10 + 16);
}
