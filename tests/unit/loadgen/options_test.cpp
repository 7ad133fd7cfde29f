#include "loadgen/options.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using mg::loadgen::parse_args;
using mg::loadgen::parse_grpc_url;
using mg::loadgen::parse_http_url;
using mg::loadgen::parsed_args;
using mg::loadgen::transport_kind;
using mg::loadgen::wire_protocol;
using namespace std::chrono_literals;

namespace {

const std::string k_url = "-url=http://127.0.0.1:4318/api/v1/write";

std::string all_errors(const parsed_args& p) {
    std::string s;
    for (const auto& e : p.errors) s += e + "\n";
    return s;
}

}  // namespace

TEST_CASE("defaults with only -url", "[options]") {
    const auto p = parse_args({k_url});
    INFO(all_errors(p));
    REQUIRE(p.what == parsed_args::action::run);
    const auto& o = p.opts;
    CHECK(o.target.host == "127.0.0.1");
    CHECK(o.target.port == "4318");
    CHECK(o.target.path == "/api/v1/write");
    CHECK(o.protocol == wire_protocol::prw);
    CHECK(o.transport == transport_kind::http);
    CHECK(mg::loadgen::protocol_name(o) == "prw");
    CHECK(o.series == 10'000);
    CHECK(o.metrics == 10);
    CHECK(o.labels == 8);
    CHECK(o.series_per_request == 1000);
    CHECK(o.samples_per_series == 1);
    CHECK(o.churn == 0);
    CHECK(o.concurrency == 2);
    CHECK(o.rate == 0);
    CHECK_FALSE(o.duration.has_value());
    CHECK_FALSE(o.cycles.has_value());
    CHECK(o.seed == 1);
    CHECK(o.report == mg::loadgen::report_format::text);
    CHECK(o.timeout == 10s);
    CHECK(o.timestamps == mg::loadgen::timestamp_mode::fixed);
    CHECK(o.prebuild_memory == 512U << 20);
    CHECK(o.build_threads == 1);
}

TEST_CASE("every flag, Go style and GNU style", "[options]") {
    const auto p = parse_args({"-url",
                               "http://localhost:8429",
                               "--protocol=otlp",
                               "-series=2000",
                               "-metrics",
                               "5",
                               "-labels=12",
                               "-series-per-request",
                               "250",
                               "-samples-per-series=3",
                               "-churn=0.25",
                               "-concurrency=4",
                               "-rate=12.5",
                               "-duration=1m30s",
                               "-seed=18446744073709551615",
                               "-report=json",
                               "-timeout=250ms",
                               "-timestamps=now",
                               "-prebuild-memory=64MiB",
                               "-build-threads=3"});
    INFO(all_errors(p));
    REQUIRE(p.what == parsed_args::action::run);
    const auto& o = p.opts;
    CHECK(o.target.host == "localhost");
    CHECK(o.target.port == "8429");
    CHECK(o.target.path == "/v1/metrics");  // no path in the URL: the protocol's default
    CHECK(o.protocol == wire_protocol::otlp);
    CHECK(o.transport == transport_kind::http);
    CHECK(mg::loadgen::protocol_name(o) == "otlp");
    CHECK(o.series == 2000);
    CHECK(o.metrics == 5);
    CHECK(o.labels == 12);
    CHECK(o.series_per_request == 250);
    CHECK(o.samples_per_series == 3);
    CHECK(o.churn == 0.25);
    CHECK(o.concurrency == 4);
    CHECK(o.rate == 12.5);
    CHECK(o.duration == std::chrono::nanoseconds(90s));
    CHECK(o.seed == 18446744073709551615ULL);
    CHECK(o.report == mg::loadgen::report_format::json);
    CHECK(o.timeout == 250ms);
    CHECK(o.timestamps == mg::loadgen::timestamp_mode::now);
    CHECK(o.prebuild_memory == 64U << 20);
    CHECK(o.build_threads == 3);

    const auto c = parse_args({k_url, "-cycles", "3"});
    REQUIRE(c.what == parsed_args::action::run);
    CHECK(c.opts.cycles == 3U);
}

TEST_CASE("a bad flag is named with the form it accepts", "[options]") {
    struct bad {
        std::vector<std::string> args;
        std::string expected;
    };
    const auto b = GENERATE(
        bad{{}, "-url: required; want an http:// URL"},
        bad{{"-url=https://x/api/v1/write"}, "-url: https is not supported"},
        bad{{"-url=ftp://x"}, "-url: \"ftp://x\" does not start with http://"},
        bad{{"-url=http://:80/"}, "-url: no host"}, bad{{"-url=http://h:99999/"}, "-url: bad port"},
        bad{{k_url, "-protocol=zipkin"},
            "-protocol: unknown protocol \"zipkin\"; want prw, otlp or otlp-grpc"},
        bad{{"-url=http://127.0.0.1:4317/v1/metrics", "-protocol=otlp-grpc"},
            "-url: otlp-grpc takes no path (it calls "
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export), got "
            "\"/v1/metrics\""},
        bad{{"-url=https://127.0.0.1:4317", "-protocol=otlp-grpc"}, "-url: https is not supported"},
        bad{{"-url=127.0.0.1:4317", "-protocol=otlp-grpc"},
            "-url: \"127.0.0.1:4317\" does not start with http://"},
        bad{{k_url, "-series=abc"},
            "-series: \"abc\" is out of range or not an integer; want an integer 1..10000000"},
        bad{{k_url, "-series=0"}, "-series: \"0\" is out of range"},
        bad{{k_url, "-series=-5"}, "-series:"},
        bad{{k_url, "-series=20000000"}, "-series: \"20000000\" is out of range"},
        bad{{k_url, "-series=10", "-metrics=11"},
            "-metrics: 11 metrics need at least as many series"},
        bad{{k_url, "-labels=0"},
            "-labels: \"0\" is out of range or not an integer; want an integer 1..100"},
        bad{{k_url, "-labels=101"}, "-labels:"},
        bad{{k_url, "-series-per-request=0"}, "-series-per-request:"},
        bad{{k_url, "-samples-per-series=x"}, "-samples-per-series:"},
        bad{{k_url, "-churn=1.5"},
            "-churn: \"1.5\" is not a fraction from 0 to 1; want a fraction 0..1"},
        bad{{k_url, "-churn=lots"}, "-churn:"},
        bad{{k_url, "-concurrency=0"},
            "-concurrency: \"0\" is out of range or not an integer; want an integer 1..1024"},
        bad{{k_url, "-rate=-1"}, "-rate: \"-1\" is not a number >= 0"},
        bad{{k_url, "-duration=30"}, "-duration: invalid duration \"30\""},
        bad{{k_url, "-duration=0s"}, "-duration: \"0s\" is not a positive duration"},
        bad{{k_url, "-cycles=0"},
            "-cycles: \"0\" is not a positive integer; want a positive integer"},
        bad{{k_url, "-cycles=2", "-duration=5s"}, "-cycles: given together with -duration"},
        bad{{k_url, "-seed=x"},
            "-seed: \"x\" is out of range or not an integer; want an unsigned 64-bit integer"},
        bad{{k_url, "-report=xml"}, "-report: unknown format \"xml\"; want text or json"},
        bad{{k_url, "-timeout=soon"}, "-timeout:"},
        bad{{k_url, "-timestamps=later"}, "-timestamps: unknown mode \"later\"; want fixed or now"},
        bad{{k_url, "-prebuild-memory=lots"}, "-prebuild-memory:"},
        bad{{k_url, "-build-threads=0"},
            "-build-threads: \"0\" is out of range or not an integer; want an integer 1..64"},
        bad{{k_url, "-bogus=1"}, "-bogus: unknown flag"},
        bad{{k_url, "stray"}, "\"stray\": unexpected argument"},
        bad{{k_url, "-series"}, "-series: missing value; want an integer 1..10000000"});
    const auto p = parse_args(b.args);
    INFO(all_errors(p));
    CHECK(p.what == parsed_args::action::fail);
    CHECK(all_errors(p).find(b.expected) != std::string::npos);
}

TEST_CASE("every problem is reported at once", "[options]") {
    const auto p = parse_args({"-series=x", "-churn=2", "-report=xml"});
    REQUIRE(p.what == parsed_args::action::fail);
    CHECK(p.errors.size() == 4);  // the three values and the missing -url
}

TEST_CASE("help wins over other flags and lists every flag", "[options]") {
    for (const char* flag : {"-help", "--help", "-h"}) {
        const auto p = parse_args({flag, "-series=nonsense"});
        CHECK(p.what == parsed_args::action::help);
    }
    const auto text = mg::loadgen::help_text();
    for (const char* flag :
         {"-url ", "-protocol ", "-series ", "-metrics ", "-labels ", "-series-per-request ",
          "-samples-per-series ", "-churn ", "-concurrency ", "-rate ", "-duration ", "-cycles ",
          "-seed ", "-report ", "-timeout ", "-timestamps "}) {
        CHECK(text.find(flag) != std::string::npos);
    }
    CHECK(text.find("429") != std::string::npos);
    CHECK(text.find("Retry-After") != std::string::npos);
}

TEST_CASE("http URLs", "[options]") {
    auto t = parse_http_url("http://victoria:8428/api/v1/write", wire_protocol::prw);
    REQUIRE(t.ok());
    CHECK(t->host == "victoria");
    CHECK(t->port == "8428");
    CHECK(t->path == "/api/v1/write");

    t = parse_http_url("http://example.com", wire_protocol::prw);
    REQUIRE(t.ok());
    CHECK(t->port == "80");
    CHECK(t->path == "/api/v1/write");

    t = parse_http_url("http://[::1]:4318/v1/metrics?x=1", wire_protocol::otlp);
    REQUIRE(t.ok());
    CHECK(t->host == "::1");
    CHECK(t->port == "4318");
    CHECK(t->path == "/v1/metrics?x=1");

    CHECK_FALSE(parse_http_url("http://[::1/", wire_protocol::prw).ok());
    CHECK_FALSE(parse_http_url("http://user@host/", wire_protocol::prw).ok());
    CHECK_FALSE(parse_http_url("http://host:0/", wire_protocol::prw).ok());
}

TEST_CASE("otlp-grpc: otlp bodies over gRPC, a URL without a path", "[options]") {
    const auto p = parse_args(
        {"-url=http://127.0.0.1:4317", "-protocol", "otlp-grpc", "-concurrency=3", "-timeout=2s"});
    INFO(all_errors(p));
    REQUIRE(p.what == parsed_args::action::run);
    const auto& o = p.opts;
    CHECK(o.protocol == wire_protocol::otlp);  // the bodies are the otlp ones
    CHECK(o.transport == transport_kind::grpc);
    CHECK(mg::loadgen::protocol_name(o) == "otlp-grpc");
    CHECK(o.target.host == "127.0.0.1");
    CHECK(o.target.port == "4317");
    CHECK(o.target.path == mg::loadgen::k_otlp_grpc_method);
    CHECK(o.concurrency == 3);
    CHECK(o.timeout == 2s);

    // The last -protocol wins, transport included.
    const auto back =
        parse_args({"-url=http://127.0.0.1:4318", "-protocol=otlp-grpc", "-protocol=otlp"});
    REQUIRE(back.what == parsed_args::action::run);
    CHECK(back.opts.transport == transport_kind::http);
    CHECK(back.opts.target.path == "/v1/metrics");

    // An http URL with a path is refused for otlp-grpc only.
    const auto with_path = parse_args({"-url=http://127.0.0.1:4318/v1/metrics", "-protocol=otlp"});
    CHECK(with_path.what == parsed_args::action::run);
}

TEST_CASE("gRPC URLs", "[options]") {
    auto t = parse_grpc_url("http://collector:4317");
    REQUIRE(t.ok());
    CHECK(t->host == "collector");
    CHECK(t->port == "4317");
    CHECK(t->path == mg::loadgen::k_otlp_grpc_method);

    t = parse_grpc_url("http://[::1]:4317/");  // a bare "/" is no path
    REQUIRE(t.ok());
    CHECK(t->host == "::1");
    CHECK(t->port == "4317");

    t = parse_grpc_url("http://collector");
    REQUIRE(t.ok());
    CHECK(t->port == "80");

    t = parse_grpc_url(
        "http://collector:4317/opentelemetry.proto.collector.metrics.v1."
        "MetricsService/Export");
    REQUIRE_FALSE(t.ok());
    CHECK(t.error_message().find("otlp-grpc takes no path") != std::string::npos);
    CHECK_FALSE(parse_grpc_url("http://collector:4317?x=1").ok());
    CHECK_FALSE(parse_grpc_url("http://collector:0").ok());
    CHECK_FALSE(parse_grpc_url("https://collector:4317").ok());
}
