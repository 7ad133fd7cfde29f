// TLS to Redis (src/cluster/redis_tls.h, redis_connection.h) against Debian's redis-server
// listening only on a TLS port, with certificates made for each test by the openssl command line
// (support/test_pki.h): admission over TLS, the server verified against the CA and by its address
// or name, client certificates when the server asks for them (tls-auth-clients).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "cluster/admission_store.h"
#include "cluster/redis_tls.h"
#include "cluster_redis_support.h"
#include "support/test_pki.h"

namespace cl = mg::cluster;
using mg::test::count;
using mg::test::ids;
using mg::test::io_thread;
using mg::test::redis_server;
using mg::test::replica;
using mg::test::test_pki;
using mg::test::why;
using namespace std::chrono_literals;

namespace {

// A redis-server on a TLS port only, with the PKI's server certificate; client certificates are
// checked against the PKI's client CA when `auth_clients`.
std::vector<std::string> tls_server_args(const test_pki& pki, bool auth_clients) {
    return {
        "--tls-cert-file",    pki.server_cert, "--tls-key-file",     pki.server_key,
        "--tls-ca-cert-file", pki.client_ca,   "--tls-auth-clients", auth_clients ? "yes" : "no"};
}

cl::redis_connection_options tls_client(const redis_server& redis, const test_pki& pki) {
    cl::redis_connection_options co;
    co.port = redis.port();
    co.tls.enabled = true;
    co.tls.ca_file = pki.ca;
    return co;
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("cluster redis TLS: admission works over TLS, and plain TCP to the TLS port does not",
          "[cluster][redis][tls]") {
    test_pki pki;
    redis_server redis(tls_server_args(pki, false), true);
    io_thread io;
    replica r(io, tls_client(redis, pki));
    auto first = r.admit("tls_metric", 5, ids(0, 5));
    INFO(why(first));
    REQUIRE(first);
    CHECK(count(*first, cl::admit_code::admitted) == 5);
    auto more = r.admit("tls_metric", 5, ids(0, 8));
    REQUIRE(more);
    CHECK(count(*more, cl::admit_code::admitted) == 0);  // over the limit (or false positives)
    CHECK(more->live_total == 5);
    auto info = r.raw({"INFO", "server"});
    REQUIRE(info);
    CHECK(contains(info->str, "redis_version:"));

    // The same commands in the clear reach no Redis: the server wants a handshake.
    cl::redis_connection_options plain_o;
    plain_o.port = redis.port();
    plain_o.connect_timeout = 2s;
    replica plain(io, plain_o);
    auto refused = plain.raw({"PING"});
    CHECK_FALSE(refused);
}

TEST_CASE(
    "cluster redis TLS: a server certificate the CA did not sign, or for another name, fails "
    "naming the address",
    "[cluster][redis][tls]") {
    test_pki pki;
    redis_server redis(tls_server_args(pki, false), true);
    io_thread io;
    const auto address = "127.0.0.1:" + std::to_string(redis.port());

    // Trusting another CA (the client CA did not sign the server's certificate).
    auto other_ca = tls_client(redis, pki);
    other_ca.tls.ca_file = pki.client_ca;
    replica untrusted(io, other_ca);
    auto refused = untrusted.admit("m", 5, ids(0, 1));
    REQUIRE_FALSE(refused);
    INFO(refused.error_message());
    CHECK(contains(refused.error_message(), "cannot connect to redis at " + address));
    CHECK(contains(refused.error_message(), "TLS handshake failed"));
    CHECK(contains(refused.error_message(), "certificate verify failed"));
    CHECK(contains(refused.error_message(), "unable to get local issuer certificate"));

    // The right CA, but the certificate is for 127.0.0.1 and the client asked for "localhost".
    auto by_name = tls_client(redis, pki);
    by_name.host = "localhost";
    replica wrong_name(io, by_name);
    auto mismatch = wrong_name.admit("m", 5, ids(0, 1));
    REQUIRE_FALSE(mismatch);
    INFO(mismatch.error_message());
    CHECK(contains(mismatch.error_message(),
                   "cannot connect to redis at localhost:" + std::to_string(redis.port())));
    CHECK(contains(mismatch.error_message(), "hostname mismatch"));

    // The name to verify can be given apart from the host connected to.
    by_name.tls.server_name = "127.0.0.1";
    replica named(io, by_name);
    auto ok = named.admit("m", 5, ids(0, 1));
    INFO(why(ok));
    CHECK(ok);

    // insecure_skip_verify: encrypted, not authenticated; both checks off.
    other_ca.tls.insecure_skip_verify = true;
    replica insecure(io, other_ca);
    auto unchecked = insecure.admit("m", 5, ids(0, 1));
    INFO(why(unchecked));
    CHECK(unchecked);
}

TEST_CASE("cluster redis TLS: client certificates when the server requires them",
          "[cluster][redis][tls]") {
    test_pki pki;
    redis_server redis(tls_server_args(pki, true), true);
    io_thread io;

    auto with_cert = tls_client(redis, pki);
    with_cert.tls.cert_file = pki.client_cert;
    with_cert.tls.key_file = pki.client_key;
    replica r(io, with_cert);
    auto admitted = r.admit("mtls_metric", 5, ids(0, 3));
    INFO(why(admitted));
    REQUIRE(admitted);
    CHECK(count(*admitted, cl::admit_code::admitted) == 3);

    // No certificate, or one of a CA the server does not trust: refused (by TLS 1.3 after the
    // client's side of the handshake, so the failure may come as a lost connection).
    replica without(io, tls_client(redis, pki));
    auto no_cert = without.admit("mtls_metric", 5, ids(0, 3));
    CHECK_FALSE(no_cert);
    auto rogue = tls_client(redis, pki);
    rogue.tls.cert_file = pki.rogue_cert;
    rogue.tls.key_file = pki.rogue_key;
    replica untrusted(io, rogue);
    auto rogue_cert = untrusted.admit("mtls_metric", 5, ids(0, 3));
    CHECK_FALSE(rogue_cert);
    INFO(why(no_cert) << " / " << why(rogue_cert));
    CHECK(contains(why(no_cert), "127.0.0.1:" + std::to_string(redis.port())));

    // A key that does not belong to the certificate is a settings error, found before connecting.
    cl::redis_tls_options mixed = with_cert.tls;
    mixed.key_file = pki.rogue_key;
    auto ctx = cl::make_redis_tls_context(mixed);
    REQUIRE_FALSE(ctx);
    CHECK(contains(ctx.error_message(), pki.rogue_key));
}
