// Test helpers: decode the load generator's request bodies back into plain values with the
// protocol module's decoders, so the tests compare what a receiver would see.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/remote_write.h"
#include "protocol/wire.h"

namespace mg::loadgen::test {

struct decoded_series {
    std::string name;
    std::map<std::string, std::string> labels;             // without __name__
    std::vector<std::pair<double, std::int64_t>> samples;  // value, timestamp (ms; OTLP: ns)
};

// The Sample messages (value, timestamp) of one raw TimeSeries field.
inline std::vector<std::pair<double, std::int64_t>> raw_samples(protocol::bytes_view raw) {
    std::vector<std::pair<double, std::int64_t>> out;
    protocol::wire_reader outer(raw);
    protocol::wire_field ts;
    REQUIRE(outer.next(ts));
    protocol::wire_reader fields(ts.bytes);
    protocol::wire_field f;
    while (fields.next(f)) {
        if (f.number != 2) continue;  // TimeSeries.samples
        protocol::wire_reader sample(f.bytes);
        protocol::wire_field sf;
        std::pair<double, std::int64_t> s{0, 0};
        while (sample.next(sf)) {
            if (sf.number == 1) s.first = sf.as_double();
            if (sf.number == 2) s.second = sf.as_int64();
        }
        out.push_back(s);
    }
    REQUIRE(fields.error() == nullptr);
    return out;
}

// Name and labels of one decoded series (no samples).
inline decoded_series from_view(const protocol::series_view& v) {
    decoded_series d;
    d.name = std::string(v.metric_name);
    for (const auto& l : v.labels) d.labels.emplace(std::string(l.name), std::string(l.value));
    CHECK(d.labels.size() == v.labels.size());  // no duplicate names
    return d;
}

// A remote write 1.0 body: snappy, then WriteRequest.
inline std::vector<decoded_series> decode_prw(const std::string& body) {
    std::string raw;
    REQUIRE(protocol::snappy_decode(body, 1 << 28, raw).ok());
    protocol::series_batch batch;
    const auto st = protocol::decode_remote_write_v1(raw, batch);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK_FALSE(batch.any_labels_unsorted());
    std::vector<decoded_series> out;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto v = batch[i];
        decoded_series d = from_view(v);
        d.samples = raw_samples(batch.entry(i).raw);
        CHECK(d.samples.size() == v.samples);
        out.push_back(std::move(d));
    }
    return out;
}

// An OTLP protobuf body: one decoded_series per data point (as the daemon sees it), without
// samples (the point values are checked through the series_batch counts).
inline std::vector<decoded_series> decode_otlp(const std::string& body) {
    protocol::series_batch batch;
    const auto st = protocol::decode_otlp_protobuf(body, batch);
    INFO(st.error_message());
    REQUIRE(st.ok());
    std::vector<decoded_series> out;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto v = batch[i];
        CHECK(v.samples == 1);
        CHECK(v.kind == protocol::metric_kind::gauge);
        out.push_back(from_view(v));
    }
    return out;
}

// "name{a=1,b=2}": the identity of a series, for sets.
inline std::string identity(const decoded_series& d) {
    std::string s = d.name + "{";
    for (const auto& [k, v] : d.labels) s += k + "=" + v + ",";
    return s + "}";
}

}  // namespace mg::loadgen::test
