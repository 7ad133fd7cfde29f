// The daemon exporting over OTLP/gRPC (-exporter-protocol=otlp-grpc) to an in-process gRPC
// backend (tests/unit/export/fake_grpc_backend): OTLP received over HTTP reaches the backend as
// the same protobuf message with the auth metadata; remote-write input is refused with 415; a
// bad endpoint exits 2 naming the flag.
#include <catch2/catch.hpp>
#include <string>

#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "support/daemon.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/remote_write_client.h"
#include "unit/export/fake_grpc_backend.h"

using namespace std::chrono_literals;
using mg::test::running_daemon;
namespace bhttp = boost::beast::http;
namespace proto = mg::protocol;
namespace ext = mg::exporter::test;

namespace {

std::string otlp_body(const std::vector<std::string>& names) {
    proto::otlp_resource res;
    proto::otlp_scope scope;
    for (const auto& n : names) {
        proto::otlp_metric m;
        m.name = n;
        proto::otlp_point p;
        p.value = 3;
        p.time_unix_nano = 1700000000000000000ULL;
        m.points.push_back(p);
        scope.metrics.push_back(m);
    }
    res.scopes.push_back(scope);
    std::string body;
    proto::encode_otlp_protobuf(std::span<const proto::otlp_resource>(&res, 1), body);
    return body;
}

}  // namespace

TEST_CASE("OTLP over HTTP leaves the daemon as an OTLP/gRPC Export call", "[grpc_export]") {
    ext::fake_grpc_backend backend;
    running_daemon d({"-exporter-endpoint=" + backend.url(), "-exporter-protocol=otlp-grpc",
                      "-exporter-bearer-token=tok", "-exporter-headers=X-Scope-OrgID=team-a",
                      "-exporter-max-shards=1", "-flush-interval=50ms"});
    mg::test::http_client c("127.0.0.1", d.ingest_port());
    const auto body = otlp_body({"requests", "errors"});
    REQUIRE(c.request(bhttp::verb::post, "/v1/metrics", body,
                      {{"Content-Type", "application/x-protobuf"}})
                .status == 200);
    REQUIRE(backend.wait(1));
    const auto call = backend.all().at(0);
    CHECK(call.method == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export");
    CHECK(call.body == body);  // nothing dropped: forwarded as it came
    CHECK(call.meta("authorization") == "Bearer tok");
    CHECK(call.meta("x-scope-orgid") == "team-a");

    proto::owned_timeseries up;
    up.labels = {{"__name__", "up"}};
    up.samples = {{1.0, 1000}};
    const auto rw = c.request(bhttp::verb::post, "/api/v1/write", mg::test::prw_body({up}),
                              mg::test::k_prw_headers);
    CHECK(rw.status == 415);
    CHECK(rw.body.find("otlp-grpc") != std::string::npos);
    CHECK(backend.count() == 1);
}

TEST_CASE("an OTLP/gRPC endpoint with a path exits 2 naming the flag", "[grpc_export]") {
    mg::test::child_process p({mg::test::daemon_path(), "-exporter-protocol=otlp-grpc",
                               "-exporter-endpoint=http://127.0.0.1:4317/v1/metrics",
                               "-stats-addr=127.0.0.1:0", "-http-listen=127.0.0.1:0"});
    REQUIRE(p.wait_exit() == 2);
    CHECK(p.output().find("-exporter-endpoint") != std::string::npos);
    CHECK(p.output().find("https://host:port") != std::string::npos);
}
