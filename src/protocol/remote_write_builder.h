// remote_write_builder: remote write 1.0 and 2.0 requests built from owned data, for tests,
// benchmarks and the load generator. Part of mg_protocol_builders, which the daemon does not
// link: nothing on the request path builds a request from scratch (kept series are re-encoded
// from the decoded request, remote_write.h).
//
// The encoders write what they are given, in the order given (labels may be unsorted on purpose,
// to test the decoders); they do not validate. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mg::protocol {

struct owned_label {
    std::string name;
    std::string value;
};

struct owned_sample {
    double value = 0;
    std::int64_t timestamp_ms = 0;
};

struct owned_exemplar {
    std::vector<owned_label> labels;
    double value = 0;
    std::int64_t timestamp_ms = 0;
};

struct owned_bucket_span {
    std::int32_t offset = 0;
    std::uint32_t length = 0;
};

// A native histogram: count, sum, schema and timestamp (enough to test pass-through), and for
// the tests that read its buckets the zero bucket, spans with deltas (integer form) or absolute
// counts (float form: count_float and zero_count_float instead of the integer counts), the reset
// hint. Empty detail fields are not written.
struct owned_histogram {
    std::uint64_t count = 0;
    double sum = 0;
    std::int32_t schema = 0;
    std::int64_t timestamp_ms = 0;
    double zero_threshold = 0;
    std::uint64_t zero_count = 0;
    std::vector<owned_bucket_span> positive_spans{}, negative_spans{};
    std::vector<std::int64_t> positive_deltas{}, negative_deltas{};
    bool float_form = false;
    double count_float = 0, zero_count_float = 0;
    std::vector<double> positive_counts{}, negative_counts{};
    std::uint32_t reset_hint = 0;  // 0 unknown, 1 yes, 2 no, 3 gauge
};

struct owned_timeseries {
    std::vector<owned_label> labels;  // written in this order (may be unsorted on purpose)
    std::vector<owned_sample> samples;
    std::vector<owned_exemplar> exemplars;
    std::vector<owned_histogram> histograms;
    // 2.0 per-series metadata (type per the spec's MetricType enum; 0 = unspecified).
    std::uint32_t metadata_type = 0;
    std::string help;
    std::string unit;
};

struct owned_metadata {  // 1.0 MetricMetadata
    std::uint32_t type = 0;
    std::string metric_family_name;
    std::string help;
    std::string unit;
};

// A 1.0 WriteRequest: the series, then the metadata entries. `out` is replaced.
void encode_remote_write_v1(std::span<const owned_timeseries> series,
                            std::span<const owned_metadata> metadata, std::string& out);
// A 2.0 Request: the symbol table (the empty string first, then every string in order of first
// use), then the series. `out` is replaced.
void encode_remote_write_v2(std::span<const owned_timeseries> series, std::string& out);

}  // namespace mg::protocol
