// options: the load generator's command line. Flags are Go style like the daemon's (one dash or
// two, value after '=' or a space), tokenized by CLI11; every value is then checked here so that
// each problem names its flag and the form it accepts, and all problems are reported at once
// (the binary exits 2 with them).
//
// Pure functions over argv; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "loadgen/request_builder.h"
#include "loadgen/shape_template.h"

namespace mg::loadgen {

enum class report_format { text, json };
enum class timestamp_mode { fixed, now };
// How the bodies travel: HTTP/1.1 POSTs (prw, otlp) or unary gRPC calls (otlp-grpc, whose bodies
// are the otlp ones byte for byte).
enum class transport_kind { http, grpc };

// The one method -protocol otlp-grpc calls (OTLP/gRPC metrics export).
inline constexpr std::string_view k_otlp_grpc_method =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

struct http_target {
    std::string host;
    std::string port = "80";
    // Never empty: the protocol's default path when the URL has none; for otlp-grpc the method.
    std::string path;
};

struct options {
    std::string url;
    http_target target;
    wire_protocol protocol = wire_protocol::prw;  // what the bodies are
    transport_kind transport = transport_kind::http;
    std::uint64_t series = 10'000;
    std::uint32_t metrics = 10;
    std::uint32_t labels = 8;
    std::string shape_file;                       // -shape; empty: synthetic series
    std::shared_ptr<const shape_template> shape;  // read from shape_file
    std::uint64_t series_per_request = 1000;
    std::uint32_t samples_per_series = 1;
    double churn = 0;
    std::uint32_t concurrency = 2;
    double rate = 0;  // requests per second over all connections; 0 = as fast as possible
    std::optional<std::chrono::nanoseconds> duration;
    std::optional<std::uint64_t> cycles;  // neither given: one cycle
    std::uint64_t seed = 1;
    report_format report = report_format::text;
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
    timestamp_mode timestamps = timestamp_mode::fixed;
    // Encoded cycles held at once (at least 2): as many as fit are built before the clock starts.
    std::uint64_t prebuild_memory = std::uint64_t{512} << 20;
    std::uint32_t build_threads = 1;  // encoding while sending; before the clock: every core
};

struct parsed_args {
    enum class action { run, help, fail };
    action what = action::run;
    options opts;
    std::vector<std::string> errors;  // for action::fail, one line per problem
};

parsed_args parse_args(const std::vector<std::string>& args);  // without argv[0]
parsed_args parse_args(int argc, const char* const argv[]);

std::string help_text();

// The -protocol value the options stand for: "prw", "otlp" or "otlp-grpc" (for the report).
std::string_view protocol_name(const options& o);

// "http://host[:port][/path]" -> host, port, path (empty path: default_path(protocol)).
// IPv6 literals in brackets are accepted. Fails for other schemes (https is not supported).
result<http_target> parse_http_url(const std::string& url, wire_protocol protocol);
// "http://host[:port]" for otlp-grpc: a path (other than "/") is refused, since the method is
// fixed; the returned path is k_otlp_grpc_method.
result<http_target> parse_grpc_url(const std::string& url);

}  // namespace mg::loadgen
