// Access control of the daemon's own listeners, against the real binary: bearer and basic auth on
// the ingest and stats listeners (401 with WWW-Authenticate, counted), TLS with a certificate made
// at test time by the openssl command line (no key is committed), client-certificate refusal,
// the handshake timeout, and secrets kept out of the log and -show-effective-config.
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/remote_write_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/remote_write_client.h"
#include "support/test_pki.h"

using namespace std::chrono_literals;
using mg::test::child_process;
using mg::test::running_daemon;
using mg::test::temp_dir;
using mg::test::test_pki;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;

namespace {

std::string prw_request_body() {
    mg::protocol::owned_timeseries ts;
    ts.labels = {{"__name__", "access_test_metric"}, {"id", "1"}};
    ts.samples = {{1.0, 1700000000000}};
    return mg::test::prw_body({ts});
}

const std::string k_otlp_json =
    R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"access_otlp","gauge":{"dataPoints":[)"
    R"({"asDouble":1,"timeUnixNano":"1700000000000000000"}]}}]}]}]})";
const std::map<std::string, std::string> k_json_headers{{"Content-Type", "application/json"}};

std::map<std::string, std::string> with(std::map<std::string, std::string> headers,
                                        const std::string& name, const std::string& value) {
    headers[name] = value;
    return headers;
}

// "Basic base64(user:password)", written out for the fixed test credentials below.
const std::string k_basic_ok = "Basic b3BzOmNvcnJlY3QtaG9yc2U=";     // ops:correct-horse
const std::string k_basic_wrong = "Basic b3BzOldST05HLXBhc3N3b3Jk";  // ops:WRONG-password

// One request on a fresh plain connection.
mg::test::http_reply send(unsigned short port, bhttp::verb method, const std::string& target,
                          const std::string& body = {},
                          const std::map<std::string, std::string>& headers = {}) {
    mg::test::http_client c("127.0.0.1", port);
    return c.request(method, target, body, headers);
}

// The value of a sample line "name{labels} value" in a /metrics body, or nullopt.
std::optional<double> sample(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::stod(metrics.substr(at + series.size() + 2));
}

// Polls /metrics (with `auth` if given) until `series` has at least `want`, or 10s pass.
double await_sample(unsigned short stats_port, const std::string& series, double want,
                    const std::map<std::string, std::string>& auth = {}) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    double last = -1;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto r = send(stats_port, bhttp::verb::get, "/metrics", {}, auth);
        if (r.status == 200) {
            last = sample(r.body, series).value_or(-1);
            if (last >= want) return last;
        }
        std::this_thread::sleep_for(20ms);  // a scrape interval, not a wait for a fixed time
    }
    return last;
}

struct tls_reply {
    std::string error;  // empty when a response arrived
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
};

// One HTTPS request: verifies the server against `ca` for 127.0.0.1, presents a client
// certificate when cert/key are given. Every step is bounded by 10s.
tls_reply tls_request(unsigned short port, const std::string& ca, bhttp::verb method,
                      const std::string& target, const std::string& body,
                      const std::map<std::string, std::string>& headers,
                      const std::string& cert = {}, const std::string& key = {}) {
    tls_reply out;
    asio::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(ssl::verify_peer);
    if (!cert.empty()) {
        ctx.use_certificate_chain_file(cert);
        ctx.use_private_key_file(key, ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::error_code ec;
    auto run = [&ioc] {
        ioc.restart();
        ioc.run();
    };
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(10s);
    tcp_layer.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                            [&ec](beast::error_code e) { ec = e; });
    run();
    if (!ec)
        stream.async_handshake(ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
    run();
    if (ec) {
        out.error = "handshake: " + ec.message();
        return out;
    }
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::async_write(stream, req, [&ec](beast::error_code e, std::size_t) { ec = e; });
    run();
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    if (!ec)
        bhttp::async_read(stream, buffer, res, [&ec](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec) {
        out.error = "request: " + ec.message();
        return out;
    }
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    return out;
}

}  // namespace

TEST_CASE("ingest bearer token: 401 without or with a wrong token, accepted with it", "[access]") {
    running_daemon d({"-receiver-bearer-token=ingest-TOKEN-7f3a"});
    const auto body = prw_request_body();
    const auto& prw = mg::test::k_prw_headers;

    const auto none = send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", body, prw);
    CHECK(none.status == 401);
    CHECK(none.headers.at("www-authenticate") == "Bearer realm=\"metrics-governor\"");
    CHECK_FALSE(none.keep_alive);
    CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", body,
               with(prw, "Authorization", "Bearer WRONG-token-9e1"))
              .status == 401);
    CHECK(
        send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", body,
             with(prw, "Authorization", "Basic aW5nZXN0LVRPS0VOLTdmM2E="))  // the token, but basic
            .status == 401);
    CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", body,
               with(prw, "Authorization", "Bearer ingest-TOKEN-7f3a"))
              .status == 204);
    // The scheme is case-insensitive; keep-alive continues after an accepted request.
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    for (int i = 0; i < 2; ++i) {
        const auto ok = c.request(bhttp::verb::post, "/api/v1/write", body,
                                  with(prw, "Authorization", "bearer ingest-TOKEN-7f3a"));
        CHECK(ok.status == 204);
        CHECK(ok.keep_alive);
    }

    // OTLP on the same listener.
    CHECK(send(d.ingest_port(), bhttp::verb::post, "/v1/metrics", k_otlp_json, k_json_headers)
              .status == 401);
    CHECK(send(d.ingest_port(), bhttp::verb::post, "/v1/metrics", k_otlp_json,
               with(k_json_headers, "Authorization", "Bearer ingest-TOKEN-7f3a"))
              .status == 200);

    // A large body without credentials: refused on the header, and the 401 still reaches the
    // client although the body was never read.
    const std::string large(4 * 1024 * 1024, 'x');
    CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", large, prw).status == 401);

    // The stats listener has no credentials of its own: open. The refusals are counted.
    const auto metrics = send(d.stats_port(), bhttp::verb::get, "/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(sample(metrics.body, "metrics_governor_http_unauthorized_total{listener=\"ingest\"}") ==
          5);
    CHECK(sample(metrics.body, "metrics_governor_http_unauthorized_total{listener=\"stats\"}") ==
          0);
    CHECK(send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality").status == 200);
}

TEST_CASE("stats basic auth guards the cardinality API, /metrics, /live and /ready stay open",
          "[access]") {
    temp_dir dir;
    const auto password_file = dir.write("stats-password", "correct-horse\n");
    SECTION("default: /metrics open") {
        running_daemon d(
            {"-stats-basic-auth-username=ops", "-stats-basic-auth-password-file=" + password_file});
        const auto none = send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality");
        CHECK(none.status == 401);
        CHECK(none.headers.at("www-authenticate") == "Basic realm=\"metrics-governor\"");
        CHECK(send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality", {},
                   {{"Authorization", k_basic_wrong}})
                  .status == 401);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality", {},
                   {{"Authorization", "Bearer correct-horse"}})
                  .status == 401);
        const auto ok = send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality?limit=5", {},
                             {{"Authorization", k_basic_ok}});
        CHECK(ok.status == 200);
        CHECK(ok.body.find("\"status\":\"success\"") != std::string::npos);
        // Unknown paths are closed too (a route added later is never open by accident).
        CHECK(send(d.stats_port(), bhttp::verb::get, "/no-such-path").status == 401);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/live").status == 200);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/ready").status == 200);
        const auto metrics = send(d.stats_port(), bhttp::verb::get, "/metrics");
        REQUIRE(metrics.status == 200);
        CHECK(sample(metrics.body,
                     "metrics_governor_http_unauthorized_total{listener=\"stats\"}") == 4);
        // The ingest listener has no credentials: open.
        CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", prw_request_body(),
                   mg::test::k_prw_headers)
                  .status == 204);
        // The healthcheck command needs no secret.
        child_process health({mg::test::daemon_path(), "healthcheck",
                              "-stats-addr=127.0.0.1:" + std::to_string(d.stats_port())});
        CHECK(health.wait_exit(10s) == 0);
    }
    SECTION("-stats-protect-metrics") {
        running_daemon d({"-stats-basic-auth-username=ops",
                          "-stats-basic-auth-password-file=" + password_file,
                          "-stats-protect-metrics"});
        CHECK(send(d.stats_port(), bhttp::verb::get, "/metrics").status == 401);
        CHECK(
            send(d.stats_port(), bhttp::verb::get, "/metrics", {}, {{"Authorization", k_basic_ok}})
                .status == 200);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/live").status == 200);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/ready").status == 200);
    }
}

TEST_CASE("TLS ingest: HTTPS with the certificate, plain HTTP and silent clients refused",
          "[access][tls]") {
    test_pki pki;
    running_daemon d({"-receiver-tls-cert-file=" + pki.server_cert,
                      "-receiver-tls-key-file=" + pki.server_key,
                      "-receiver-bearer-token=tls-TOKEN-51c0", "-http-read-timeout=1s"});
    CHECK(d.process().output().find("\"tls\":true") != std::string::npos);
    const auto body = prw_request_body();
    const auto ok =
        tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/api/v1/write", body,
                    with(mg::test::k_prw_headers, "Authorization", "Bearer tls-TOKEN-51c0"));
    INFO(ok.error);
    CHECK(ok.status == 204);
    const auto no_token = tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/api/v1/write",
                                      body, mg::test::k_prw_headers);
    CHECK(no_token.status == 401);
    const auto otlp =
        tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/v1/metrics", k_otlp_json,
                    with(k_json_headers, "Authorization", "Bearer tls-TOKEN-51c0"));
    CHECK(otlp.status == 200);

    // Plain HTTP to the HTTPS port gets no HTTP answer; the failed handshake is counted.
    CHECK_THROWS(
        send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", body, mg::test::k_prw_headers));
    CHECK(await_sample(d.stats_port(),
                       "metrics_governor_tls_handshake_failures_total{listener=\"ingest\"}",
                       1) >= 1);

    // A client that connects and says nothing is dropped after -http-read-timeout (1s), not held.
    const auto before = await_sample(
        d.stats_port(), "metrics_governor_tls_handshake_failures_total{listener=\"ingest\"}", 1);
    mg::test::http_client silent("127.0.0.1", d.ingest_port(), 5s);
    const auto start = std::chrono::steady_clock::now();
    CHECK(silent.closed_by_peer());
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    CHECK(await_sample(d.stats_port(),
                       "metrics_governor_tls_handshake_failures_total{listener=\"ingest\"}",
                       before + 1) == before + 1);

    // The stats listener stays plain HTTP.
    CHECK(send(d.stats_port(), bhttp::verb::get, "/live").status == 200);
}

TEST_CASE("TLS with a client CA refuses clients without a valid certificate", "[access][tls]") {
    test_pki pki;
    running_daemon d(
        {"-receiver-tls-cert-file=" + pki.server_cert, "-receiver-tls-key-file=" + pki.server_key,
         "-receiver-tls-client-ca-file=" + pki.client_ca, "-stats-tls-cert-file=" + pki.server_cert,
         "-stats-tls-key-file=" + pki.server_key});
    const auto body = prw_request_body();
    const auto& prw = mg::test::k_prw_headers;
    const auto good = tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/api/v1/write", body,
                                  prw, pki.client_cert, pki.client_key);
    INFO(good.error);
    CHECK(good.status == 204);
    const auto no_cert =
        tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/api/v1/write", body, prw);
    CHECK(no_cert.status == 0);
    CHECK_FALSE(no_cert.error.empty());
    const auto rogue = tls_request(d.ingest_port(), pki.ca, bhttp::verb::post, "/api/v1/write",
                                   body, prw, pki.rogue_cert, pki.rogue_key);
    CHECK(rogue.status == 0);
    CHECK_FALSE(rogue.error.empty());

    // The stats listener speaks HTTPS without a client CA: any client with the server CA.
    const auto metrics = tls_request(d.stats_port(), pki.ca, bhttp::verb::get, "/metrics", {}, {});
    INFO(metrics.error);
    REQUIRE(metrics.status == 200);
    // Both refusals are counted (polled: the server counts as it closes).
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    double failures = -1;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto r = tls_request(d.stats_port(), pki.ca, bhttp::verb::get, "/metrics", {}, {});
        failures =
            sample(r.body, "metrics_governor_tls_handshake_failures_total{listener=\"ingest\"}")
                .value_or(-1);
        if (failures >= 2) break;
        std::this_thread::sleep_for(20ms);
    }
    CHECK(failures == 2);
}

TEST_CASE("secrets never appear in the log, -show-effective-config or error messages", "[access]") {
    temp_dir dir;
    const auto token_file = dir.write("ingest-token", "SECRET-ingest-b7d2\n");
    const std::vector<std::string> secret_args{"-receiver-bearer-token-file=" + token_file,
                                               "-stats-basic-auth-username=ops",
                                               "-stats-basic-auth-password=SECRET-stats-4c9e",
                                               "-exporter-bearer-token=SECRET-exporter-a1f0",
                                               "-exporter-headers=X-Api-Key=SECRET-header-77e3"};
    const std::vector<std::string> secrets{"SECRET-ingest-b7d2", "SECRET-stats-4c9e",
                                           "SECRET-exporter-a1f0", "SECRET-header-77e3", "WRONG-"};
    {
        running_daemon d(secret_args);
        // Wrong credentials must not be logged either.
        CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", prw_request_body(),
                   with(mg::test::k_prw_headers, "Authorization", "Bearer WRONG-ingest"))
                  .status == 401);
        CHECK(send(d.ingest_port(), bhttp::verb::post, "/api/v1/write", prw_request_body(),
                   with(mg::test::k_prw_headers, "Authorization", "Bearer SECRET-ingest-b7d2"))
                  .status == 204);
        CHECK(send(d.stats_port(), bhttp::verb::get, "/api/v1/cardinality", {},
                   {{"Authorization", k_basic_wrong}})
                  .status == 401);
        d.process().signal(SIGHUP);
        REQUIRE(d.process().wait_for_line("no limits file to reload"));
        d.process().signal(SIGTERM);
        const auto code = d.process().wait_exit(20s);
        INFO(d.process().output());
        CHECK(code == 0);
        for (const auto& s : secrets) {
            INFO(s);
            CHECK(d.process().output().find(s) == std::string::npos);
        }
    }
    {
        std::vector<std::string> argv{mg::test::daemon_path(), "-show-effective-config"};
        argv.insert(argv.end(), secret_args.begin(), secret_args.end());
        child_process show(argv);
        REQUIRE(show.wait_exit(10s) == 0);
        CHECK(show.output().find("<redacted>") != std::string::npos);
        CHECK(show.output().find(token_file) != std::string::npos);
        for (const auto& s : secrets) {
            INFO(s);
            CHECK(show.output().find(s) == std::string::npos);
        }
    }
    {
        // A configuration error next to the secrets prints none of them.
        std::vector<std::string> argv{mg::test::daemon_path(), "validate",
                                      "-exporter-endpoint=https://u:SECRET-url-3b@h/",
                                      "-exporter-headers=Authorization: Bearer SECRET-header-77e3"};
        argv.insert(argv.end(), secret_args.begin(), secret_args.end() - 1);
        child_process bad(argv);
        CHECK(bad.wait_exit(10s) == 2);
        CHECK(bad.output().find("user info") != std::string::npos);
        CHECK(bad.output().find("SECRET") == std::string::npos);
    }
}

TEST_CASE("unusable TLS files stop the daemon with exit 2 naming the key and path",
          "[access][tls]") {
    test_pki pki;
    const auto junk = pki.dir.write("junk.pem", "not a certificate\n");
    {
        child_process p({mg::test::daemon_path(), "-stats-addr=127.0.0.1:0",
                         "-http-listen=127.0.0.1:0",
                         "-grpc-listen=", "-receiver-tls-cert-file=" + junk,
                         "-receiver-tls-key-file=" + pki.server_key});
        CHECK(p.wait_exit(20s) == 2);
        CHECK(p.output().find("receiver.tls.cert_file (-receiver-tls-cert-file)") !=
              std::string::npos);
        CHECK(p.output().find(junk) != std::string::npos);
    }
    {
        // A key of another certificate; found by validate as well.
        child_process p({mg::test::daemon_path(), "validate",
                         "-stats-tls-cert-file=" + pki.server_cert,
                         "-stats-tls-key-file=" + pki.client_key});
        CHECK(p.wait_exit(20s) == 2);
        CHECK(p.output().find("stats.tls.key_file (-stats-tls-key-file)") != std::string::npos);
        CHECK(p.output().find(pki.client_key) != std::string::npos);
        INFO(p.output());
        CHECK((p.output().find("does not belong") != std::string::npos ||
               p.output().find("key values mismatch") != std::string::npos));
    }
    {
        child_process p({mg::test::daemon_path(), "-stats-addr=127.0.0.1:0",
                         "-http-listen=127.0.0.1:0",
                         "-grpc-listen=", "-receiver-tls-client-ca-file=" + pki.client_ca});
        CHECK(p.wait_exit(20s) == 2);
        CHECK(p.output().find("receiver.tls.client_ca_file") != std::string::npos);
    }
}
