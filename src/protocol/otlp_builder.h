// otlp_builder: OTLP metrics requests built from owned data, as protobuf or JSON, for tests,
// benchmarks and the load generator. Part of mg_protocol_builders, which the daemon does not
// link: nothing on the request path builds a request from scratch (kept points are re-encoded
// from the decoded request, otlp.h and otlp_json.h).
//
// The model carries what the governor needs (attributes at every level, one value, counts), not
// every value field a point can have: tests/shared/otlp_builder.h builds those for the tests of
// the remote-write converter. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/series_batch.h"

namespace mg::protocol {

struct otlp_key_value;

struct otlp_any_value {
    enum class kind : std::uint8_t { empty, string, boolean, integer, dbl, bytes, array, kvlist };
    kind k = kind::empty;
    std::string s;  // string and bytes
    bool b = false;
    std::int64_t i = 0;
    double d = 0;
    std::vector<otlp_any_value> array;
    std::vector<otlp_key_value> kvlist;

    static otlp_any_value str(std::string v);
    static otlp_any_value boolean(bool v);
    static otlp_any_value integer(std::int64_t v);
    static otlp_any_value dbl(double v);
    static otlp_any_value bytes(std::string v);
};

struct otlp_key_value {
    std::string key;
    otlp_any_value value;
};

struct otlp_point {
    std::vector<otlp_key_value> attributes;
    double value = 0;  // gauge/sum value, or histogram/summary sum
    std::uint64_t time_unix_nano = 0;
    std::uint32_t exemplars = 0;  // that many exemplars with value and time
};

struct otlp_metric {
    std::string name;
    std::string description;
    std::string unit;
    metric_kind kind = metric_kind::gauge;
    std::vector<otlp_point> points;
};

struct otlp_scope {
    std::string name;
    std::string version;
    std::vector<otlp_key_value> attributes;
    std::vector<otlp_metric> metrics;
};

struct otlp_resource {
    std::vector<otlp_key_value> attributes;
    std::vector<otlp_scope> scopes;
};

// An ExportMetricsServiceRequest with one ResourceMetrics per resource, one ScopeMetrics per
// scope; sums are cumulative and monotonic, histograms cumulative. `out` is replaced.
void encode_otlp_protobuf(std::span<const otlp_resource> resources, std::string& out);

// The same request in OTLP/JSON (64-bit integers as strings, as the JSON mapping writes them).
std::string encode_otlp_json(std::span<const otlp_resource> resources);

}  // namespace mg::protocol
