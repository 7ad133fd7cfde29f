#include "loadgen/request_builder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "decoded.h"
#include "protocol/otlp_builder.h"
#include "protocol/remote_write_builder.h"

using mg::loadgen::k_fixed_timestamp_base_ms;
using mg::loadgen::request_builder;
using mg::loadgen::request_shape;
using mg::loadgen::series_shape;
using mg::loadgen::wire_protocol;
namespace t = mg::loadgen::test;

namespace {

std::vector<t::decoded_series> decode_all(const std::vector<std::string>& bodies, wire_protocol p) {
    std::vector<t::decoded_series> all;
    for (const auto& b : bodies) {
        auto d = p == wire_protocol::prw ? t::decode_prw(b) : t::decode_otlp(b);
        all.insert(all.end(), d.begin(), d.end());
    }
    return all;
}

std::set<std::string> ids_in(const std::vector<t::decoded_series>& all) {
    std::set<std::string> out;
    for (const auto& s : all) out.insert(s.labels.at("series_id"));
    return out;
}

}  // namespace

TEST_CASE("remote write bodies decode back to the series and samples asked for",
          "[request_builder]") {
    request_builder b(
        {.series = 2500, .metrics = 7, .labels = 6, .churn = 0, .seed = 11},
        {.protocol = wire_protocol::prw, .series_per_request = 1000, .samples_per_series = 3});
    REQUIRE(b.request_count() == 3);
    CHECK(b.series_in(0) == 1000);
    CHECK(b.series_in(2) == 500);
    CHECK(b.samples_in(2) == 1500);
    CHECK(b.samples_per_cycle() == 7500);

    std::vector<std::string> bodies;
    for (std::uint64_t cycle = 0; cycle < 2; ++cycle) {
        CHECK(b.build_next(bodies) == cycle);
        REQUIRE(bodies.size() == 3);
        std::vector<t::decoded_series> all;
        for (std::size_t r = 0; r < bodies.size(); ++r) {
            const auto d = t::decode_prw(bodies[r]);
            CHECK(d.size() == b.series_in(r));
            all.insert(all.end(), d.begin(), d.end());
        }
        REQUIRE(all.size() == 2500);
        std::set<std::string> identities, names;
        for (std::size_t i = 0; i < all.size(); ++i) {
            const auto& s = all[i];
            identities.insert(t::identity(s));
            names.insert(s.name);
            CHECK(s.labels.size() == 6);
            CHECK(s.labels.at("series_id") == std::to_string(i));  // no churn: slot i holds id i
            REQUIRE(s.samples.size() == 3);
            for (std::uint32_t j = 0; j < 3; ++j) {
                const auto ts =
                    k_fixed_timestamp_base_ms +
                    static_cast<std::int64_t>(cycle * 3 + j) * mg::loadgen::k_sample_step_ms;
                CHECK(s.samples[j].second == ts);
                CHECK(s.samples[j].first == request_builder::sample_value(11, i, cycle, 3, j));
            }
        }
        CHECK(identities.size() == 2500);
        CHECK(names.size() == 7);
    }
}

TEST_CASE("OTLP bodies decode back to one gauge point per series and sample", "[request_builder]") {
    request_builder b(
        {.series = 1200, .metrics = 5, .labels = 4, .churn = 0.25, .seed = 2},
        {.protocol = wire_protocol::otlp, .series_per_request = 500, .samples_per_series = 2});
    REQUIRE(b.request_count() == 3);
    std::vector<std::string> bodies;
    std::set<std::string> previous;
    for (int cycle = 0; cycle < 3; ++cycle) {
        b.build_next(bodies);
        const auto all = decode_all(bodies, wire_protocol::otlp);
        REQUIRE(all.size() == 2400);  // 1200 series x 2 points
        std::set<std::string> identities;
        for (const auto& s : all) {
            CHECK(s.labels.size() == 4);
            identities.insert(t::identity(s));
        }
        CHECK(identities.size() == 1200);  // the two points of a series share its identity
        const auto ids = ids_in(all);
        CHECK(ids.size() == 1200);
        if (cycle > 0) {
            std::vector<std::string> gone;
            std::set_difference(previous.begin(), previous.end(), ids.begin(), ids.end(),
                                std::back_inserter(gone));
            CHECK(gone.size() == 300);
        }
        previous = ids;
    }
}

TEST_CASE("the same seed gives byte-identical bodies, another seed different ones",
          "[request_builder]") {
    const auto protocol = GENERATE(wire_protocol::prw, wire_protocol::otlp);
    const series_shape shape{.series = 3000, .metrics = 4, .labels = 8, .churn = 0.1, .seed = 7};
    const request_shape req{
        .protocol = protocol, .series_per_request = 700, .samples_per_series = 1};
    request_builder a(shape, req), b(shape, req);
    auto other = shape;
    other.seed = 8;
    request_builder c(other, req);
    std::vector<std::string> ba, bb, bc;
    for (int cycle = 0; cycle < 4; ++cycle) {
        a.build_next(ba);
        b.build_next(bb);
        c.build_next(bc);
        REQUIRE(ba.size() == 5);
        CHECK(ba == bb);
        for (std::size_t r = 0; r < ba.size(); ++r) CHECK(ba[r] != bc[r]);
        // Successive cycles differ too (timestamps move on), so a body is never resent as is.
    }
    std::vector<std::string> next;
    a.build_next(next);
    for (std::size_t r = 0; r < next.size(); ++r) CHECK(next[r] != ba[r]);
}

TEST_CASE("churn shows in the bodies: exactly round(F x N) series ids change per cycle",
          "[request_builder]") {
    request_builder b(
        {.series = 2000, .metrics = 10, .labels = 3, .churn = 0.1, .seed = 1},
        {.protocol = wire_protocol::prw, .series_per_request = 1000, .samples_per_series = 1});
    std::vector<std::string> bodies;
    b.build_next(bodies);
    auto previous = ids_in(decode_all(bodies, wire_protocol::prw));
    REQUIRE(previous.size() == 2000);
    for (int cycle = 1; cycle < 4; ++cycle) {
        b.build_next(bodies);
        const auto all = decode_all(bodies, wire_protocol::prw);
        const auto ids = ids_in(all);
        CHECK(ids.size() == 2000);
        std::vector<std::string> fresh;
        std::set_difference(ids.begin(), ids.end(), previous.begin(), previous.end(),
                            std::back_inserter(fresh));
        CHECK(fresh.size() == 200);
        std::set<std::string> identities;
        for (const auto& s : all) identities.insert(t::identity(s));
        CHECK(identities.size() == 2000);
        previous = ids;
    }
    CHECK(b.series().created() == 2600);
}

TEST_CASE("replaced series get the labels of their new id", "[request_builder]") {
    // A series' labels are a function of (seed, id): compare a churned body against the labels
    // the series_set computes for the ids found in it.
    request_builder b(
        {.series = 100, .metrics = 2, .labels = 12, .churn = 0.5, .seed = 4},
        {.protocol = wire_protocol::prw, .series_per_request = 100, .samples_per_series = 1});
    std::vector<std::string> bodies;
    b.build_next(bodies);
    b.build_next(bodies);
    const auto& set = b.series();
    std::string value;
    for (const auto& s : decode_all(bodies, wire_protocol::prw)) {
        const auto id = std::stoull(s.labels.at("series_id"));
        for (std::uint32_t l = 0; l < set.label_names().size(); ++l) {
            set.label_value(id, l, value);
            CHECK(s.labels.at(set.label_names()[l]) == value);
        }
    }
}

namespace {

// The bodies of the builder's current cycle encoded from scratch with the protocol module, from
// the series set alone: what the in-place patching and splicing must reproduce byte for byte.
std::vector<std::string> expected_raw(const request_builder& b, wire_protocol protocol,
                                      std::uint64_t per_request, std::uint32_t samples,
                                      std::int64_t base_ms) {
    namespace proto = mg::protocol;
    const auto& set = b.series();
    const std::uint64_t cycle = set.cycle();
    std::vector<std::string> out(b.request_count());
    std::string value;
    for (std::size_t r = 0; r < out.size(); ++r) {
        const std::uint64_t lo = r * per_request;
        const std::uint64_t hi = std::min(set.size(), lo + per_request);
        std::vector<proto::owned_timeseries> series;
        proto::otlp_resource resource;
        auto& scope = resource.scopes.emplace_back();
        for (std::uint64_t slot = lo; slot < hi; ++slot) {
            const std::uint64_t id = set.id_of(slot);
            const std::string& name = set.metric_name(set.metric_of(slot));
            proto::owned_timeseries ts;
            ts.labels.push_back({"__name__", name});
            std::vector<proto::otlp_key_value> attributes;
            for (std::uint32_t l = 0; l < set.label_names().size(); ++l) {
                set.label_value(id, l, value);
                ts.labels.push_back({set.label_names()[l], value});
                attributes.push_back({set.label_names()[l], proto::otlp_any_value::str(value)});
            }
            if (scope.metrics.empty() || scope.metrics.back().name != name) {
                scope.metrics.emplace_back();
                scope.metrics.back().name = name;
                scope.metrics.back().kind = proto::metric_kind::gauge;
            }
            for (std::uint32_t j = 0; j < samples; ++j) {
                const double v =
                    request_builder::sample_value(set.shape().seed, id, cycle, samples, j);
                const std::int64_t t =
                    base_ms + static_cast<std::int64_t>(cycle * samples + j) * 1000;
                ts.samples.push_back({v, t});
                proto::otlp_point p;
                p.attributes = attributes;
                p.value = v;
                p.time_unix_nano = static_cast<std::uint64_t>(t) * 1'000'000ULL;
                scope.metrics.back().points.push_back(p);
            }
            series.push_back(std::move(ts));
        }
        if (protocol == wire_protocol::prw) {
            proto::encode_remote_write_v1(series, {}, out[r]);
        } else {
            proto::encode_otlp_protobuf(std::span<const proto::otlp_resource>(&resource, 1),
                                        out[r]);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("bodies updated in place equal bodies encoded from scratch", "[request_builder]") {
    struct param {
        wire_protocol protocol;
        double churn;
        std::uint32_t samples;
        std::int64_t base_ms;
        unsigned threads;
    };
    // churn 1/3000: one replaced series per cycle, so most requests are patched and one is
    // spliced; churn 0.3: every request is spliced (OTLP: encoded again). A timestamp base just
    // under 2^35 ms makes the timestamp varint grow a byte in cycle 1 (the fallback path).
    const auto p = GENERATE(param{wire_protocol::prw, 0.0, 1, k_fixed_timestamp_base_ms, 1},
                            param{wire_protocol::prw, 1.0 / 3000, 2, k_fixed_timestamp_base_ms, 1},
                            param{wire_protocol::prw, 0.3, 1, k_fixed_timestamp_base_ms, 3},
                            param{wire_protocol::prw, 0.0, 1, (std::int64_t{1} << 35) - 1000, 1},
                            param{wire_protocol::prw, 0.01, 3, (std::int64_t{1} << 35) - 2500, 2},
                            param{wire_protocol::otlp, 0.0, 2, k_fixed_timestamp_base_ms, 1},
                            param{wire_protocol::otlp, 1.0 / 3000, 1, k_fixed_timestamp_base_ms, 2},
                            param{wire_protocol::otlp, 0.3, 1, k_fixed_timestamp_base_ms, 1});
    INFO("protocol " << static_cast<int>(p.protocol) << " churn " << p.churn << " samples "
                     << p.samples << " base " << p.base_ms << " threads " << p.threads);
    request_builder b({.series = 3000, .metrics = 7, .labels = 9, .churn = p.churn, .seed = 5},
                      {.protocol = p.protocol,
                       .series_per_request = 500,
                       .samples_per_series = p.samples,
                       .timestamp_base_ms = p.base_ms});
    std::vector<std::string> bodies;
    for (int cycle = 0; cycle < 4; ++cycle) {
        INFO("cycle " << cycle);
        b.build_next(bodies, p.threads);
        const auto expected = expected_raw(b, p.protocol, 500, p.samples, p.base_ms);
        REQUIRE(bodies.size() == expected.size());
        for (std::size_t r = 0; r < bodies.size(); ++r) {
            std::string raw = bodies[r];
            if (p.protocol == wire_protocol::prw)
                REQUIRE(mg::protocol::snappy_decode(bodies[r], 1 << 28, raw).ok());
            CHECK(raw == expected[r]);
        }
    }
}

TEST_CASE("the number of building threads does not change the bodies", "[request_builder]") {
    const series_shape shape{.series = 5000, .metrics = 3, .labels = 5, .churn = 0.05, .seed = 1};
    const request_shape req{
        .protocol = wire_protocol::prw, .series_per_request = 300, .samples_per_series = 1};
    request_builder one(shape, req), four(shape, req);
    std::vector<std::string> a, b;
    for (int cycle = 0; cycle < 3; ++cycle) {
        one.build_next(a, 1);
        four.build_next(b, 4);
        CHECK(a == b);
    }
}

TEST_CASE("protocol headers and default paths", "[request_builder]") {
    CHECK(mg::loadgen::content_type(wire_protocol::prw) == "application/x-protobuf");
    CHECK(mg::loadgen::content_encoding(wire_protocol::prw) == "snappy");
    CHECK(mg::loadgen::content_encoding(wire_protocol::otlp).empty());
    CHECK(mg::loadgen::default_path(wire_protocol::prw) == "/api/v1/write");
    CHECK(mg::loadgen::default_path(wire_protocol::otlp) == "/v1/metrics");
}
