// serve --tls-cert/--tls-key against clients with and without the right CA:
// a CA and a server certificate made by the openssl CLI in a temporary directory.

#include <catch2/catch.hpp>

#include "serialake/dataset.hpp"
#include "serialake/remote.hpp"
#include "tests/expect_code.hpp"
#include "tests/service/server_fixture.hpp"

using namespace serialake;
using namespace serialake::test;

namespace {

// A self-signed CA in DIR/NAME.pem (key NAME.key).
void make_ca(const temp_dir& dir, const std::string& name) {
  auto r = run_program("/usr/bin/openssl",
                       {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", dir / (name + ".key"), "-out", dir / (name + ".pem"), "-days", "2", "-subj",
                        "/CN=serialake test " + name});
  if (r.status != 0) throw std::runtime_error("openssl: " + r.err);
}

// A certificate for 127.0.0.1 signed by CA `ca`: DIR/server.pem, DIR/server.key.
void make_server_cert(const temp_dir& dir, const std::string& ca) {
  auto r = run_program("/usr/bin/openssl",
                       {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", dir / "server.key", "-out", dir / "server.pem", "-days", "2", "-subj",
                        "/CN=localhost", "-CA", dir / (ca + ".pem"), "-CAkey", dir / (ca + ".key"), "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=CA:FALSE"});
  if (r.status != 0) throw std::runtime_error("openssl: " + r.err);
}

}  // namespace

TEST_CASE("remote: TLS serves clients with the server's CA and no other") {
  // Kills: a server that ignores --tls-cert (the plaintext client would get
  // through), a client that ignores --tls-ca, or one that trusts any CA.
  temp_dir certs;
  make_ca(certs, "ca");
  make_ca(certs, "other");
  make_server_cert(certs, "ca");
  server_process srv({"--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key"});
  const std::string uri = srv.uri("tls/set");

  remote_options tls;
  tls.tls_ca = certs / "ca.pem";
  remote_dataset::create(uri, {{"id", dtype::int64, "generic", shape_t{}}}, tls);
  {
    remote_dataset ds(uri, tls);
    CHECK(ds.append_row({{"id", sample::scalar<int64_t>(dtype::int64, 7)}}).get() == 0);
    ds.flush();
  }
  // The CLI's --tls-ca, as another process.
  auto r = cli({"cat", uri, "--tls-ca", certs / "ca.pem"});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("7") != std::string::npos);

  remote_options plain;
  plain.deadline = std::chrono::milliseconds(10000);
  CHECK(expect_code(errc::unavailable, [&] { remote_dataset(uri, plain); }));
  remote_options wrong = plain;
  wrong.tls_ca = certs / "other.pem";
  CHECK(expect_code(errc::unavailable, [&] { remote_dataset(uri, wrong); }));
}

TEST_CASE("remote: the dataset handle over TLS trusts the server with opts.remote.tls_ca, not in plaintext") {
  // Kills: engine::open not passing opts.remote.tls_ca on to the client.
  enable_remote();
  temp_dir certs;
  make_ca(certs, "ca");
  make_server_cert(certs, "ca");
  server_process srv({"--tls-cert", certs / "server.pem", "--tls-key", certs / "server.key"});
  const std::string uri = srv.uri("tls/handle");
  engine eng;
  dataset_options o;
  o.create = true;
  o.remote.tls_ca = certs / "ca.pem";
  o.remote.deadline = std::chrono::milliseconds(5000);
  dataset ds = eng.open(uri, o);
  ds.create_tensor({"id", dtype::int64, "generic", shape_t{}});
  CHECK(ds.append("id", sample::scalar<int64_t>(dtype::int64, 1)).get() == 0);
  ds.close();
  dataset_options plain;
  plain.remote.deadline = std::chrono::milliseconds(5000);
  CHECK(expect_code(errc::unavailable, [&] { eng.open(uri, plain); }));
  CHECK(cli({"--tls-ca", certs / "ca.pem", "cat", uri}).out == "{\"id\":1}\n");
  CHECK(ids_on_disk(srv.root() / "tls/handle").size() == 1);
}
