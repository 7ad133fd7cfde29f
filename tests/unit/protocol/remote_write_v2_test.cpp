#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/encode_kept.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"
#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::bytes;
using mg::protocol::test::series_snapshot;
using mg::protocol::test::snapshot;

namespace {

owned_timeseries ts_v2(std::vector<owned_label> labels, std::size_t samples = 1) {
    owned_timeseries t;
    t.labels = std::move(labels);
    for (std::size_t i = 0; i < samples; ++i) {
        t.samples.push_back({1.0 + static_cast<double>(i), 1700000000000});
    }
    return t;
}

std::vector<owned_timeseries> sample_series_v2() {
    std::vector<owned_timeseries> v;
    auto a = ts_v2({{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}, 2);
    a.metadata_type = 1;
    a.help = "Requests served.";
    v.push_back(a);
    v.push_back(ts_v2({{"__name__", "http_requests_total"}, {"code", "500"}, {"job", "api"}}));
    auto h = ts_v2({{"__name__", "latency_seconds"}, {"job", "api"}}, 0);
    h.histograms.push_back({10, 2.5, 3, 1700000000000});
    h.exemplars.push_back({{{"trace_id", "abc123"}}, 0.25, 1700000000001});
    h.metadata_type = 3;
    h.unit = "seconds";
    v.push_back(h);
    v.push_back(ts_v2({{"__name__", "up"}, {"instance", "x:9100"}}));
    return v;
}

// Request by hand: symbols ["", "__name__", "up", "job", "a"], one series refs [1,2,3,4].
const std::string k_hand_v2 = bytes({0x22, 0x00,                                            //
                                     0x22, 0x08, '_',  '_',  'n', 'a', 'm', 'e', '_', '_',  //
                                     0x22, 0x02, 'u',  'p',                                 //
                                     0x22, 0x03, 'j',  'o',  'b',                           //
                                     0x22, 0x01, 'a',                                       //
                                     0x2a, 0x0a, 0x0a, 0x04, 1,   2,   3,   4,              //
                                     0x12, 0x02, 0x10, 0x07});

}  // namespace

TEST_CASE("remote write 2.0: a hand-written request decodes", "[remote_write_v2]") {
    series_batch b;
    auto s = decode_remote_write_v2(k_hand_v2, b);
    REQUIRE(s.ok());
    REQUIRE(b.size() == 1);
    CHECK(b[0].metric_name == "up");
    REQUIRE(b[0].labels.size() == 1);
    CHECK(b[0].labels[0] == label_view{"job", "a"});
    CHECK(b[0].samples == 1);
    CHECK(b.symbols().size() == 5);
    CHECK(b.protocol() == source_protocol::remote_write_v2);
}

TEST_CASE("remote write 2.0: unpacked labels_refs are accepted too", "[remote_write_v2]") {
    std::string body =
        k_hand_v2.substr(0, 24) + bytes({0x2a, 0x08, 0x08, 1, 0x08, 2, 0x08, 3, 0x08, 4});
    series_batch b;
    REQUIRE(decode_remote_write_v2(body, b).ok());
    REQUIRE(b.size() == 1);
    CHECK(b[0].metric_name == "up");
}

TEST_CASE("remote write 2.0: encoder output decodes with counts for the response headers",
          "[remote_write_v2]") {
    std::string body;
    encode_remote_write_v2(sample_series_v2(), body);
    series_batch b;
    REQUIRE(decode_remote_write_v2(body, b).ok());
    const auto got = snapshot(b);
    REQUIRE(got.size() == 4);
    CHECK(got[0] ==
          series_snapshot{"http_requests_total", {{"code", "200"}, {"job", "api"}}, 2, 0, 0});
    CHECK(got[2] == series_snapshot{"latency_seconds", {{"job", "api"}}, 0, 1, 1});
    CHECK(b.total_samples() == 4);
    CHECK(b.total_histograms() == 1);
    CHECK(b.total_exemplars() == 1);
}

TEST_CASE("remote write 2.0: symbol table errors", "[remote_write_v2]") {
    series_batch b;
    SECTION("first symbol not empty") {
        auto s = decode_remote_write_v2(bytes({0x22, 0x01, 'x'}), b);
        CHECK(s.code() == errc::malformed);
        CHECK_THAT(s.error_message(), Catch::Contains("first symbol must be the empty string"));
    }
    SECTION("invalid UTF-8 symbol") {
        auto s = decode_remote_write_v2(bytes({0x22, 0x00, 0x22, 0x01, 0xff}), b);
        CHECK_THAT(s.error_message(), Catch::Contains("invalid UTF-8 in symbol 1"));
    }
    SECTION("label ref out of range") {
        std::string body = k_hand_v2;
        body[31] = 9;  // the last ref
        auto s = decode_remote_write_v2(body, b);
        CHECK_THAT(s.error_message(),
                   Catch::Contains("label reference 9 out of range (5 symbols)"));
    }
    SECTION("odd number of refs") {
        std::string body = k_hand_v2.substr(0, 24) + bytes({0x2a, 0x05, 0x0a, 0x03, 1, 2, 3});
        CHECK_THAT(decode_remote_write_v2(body, b).error_message(), Catch::Contains("odd length"));
    }
    SECTION("empty label name (ref 0)") {
        std::string body = k_hand_v2.substr(0, 24) + bytes({0x2a, 0x06, 0x0a, 0x04, 1, 2, 0, 4});
        CHECK_THAT(decode_remote_write_v2(body, b).error_message(),
                   Catch::Contains("empty label name"));
    }
    SECTION("duplicate label name") {
        std::string body =
            k_hand_v2.substr(0, 24) + bytes({0x2a, 0x08, 0x0a, 0x06, 3, 4, 1, 2, 3, 2});
        CHECK_THAT(decode_remote_write_v2(body, b).error_message(),
                   Catch::Contains("duplicate label name \"job\""));
    }
    SECTION("exemplar ref out of range") {
        std::string body = k_hand_v2.substr(0, 24) +
                           bytes({0x2a, 0x0a, 0x0a, 0x04, 1, 2, 3, 4, 0x22, 0x02, 0x08, 0x07});
        CHECK_THAT(decode_remote_write_v2(body, b).error_message(),
                   Catch::Contains("exemplar label reference 7 out of range"));
    }
    SECTION("metadata ref out of range") {
        std::string body = k_hand_v2.substr(0, 24) +
                           bytes({0x2a, 0x0a, 0x0a, 0x04, 1, 2, 3, 4, 0x2a, 0x02, 0x18, 0x05});
        CHECK_THAT(decode_remote_write_v2(body, b).error_message(),
                   Catch::Contains("metadata reference 5 out of range"));
    }
    SECTION("refs with no symbols at all") {
        CHECK_THAT(decode_remote_write_v2(bytes({0x2a, 0x04, 0x0a, 0x02, 0, 0}), b).error_message(),
                   Catch::Contains("out of range (0 symbols)"));
    }
}

TEST_CASE("remote write 2.0: truncation at every offset is an error or a strict prefix",
          "[remote_write_v2]") {
    std::string body;
    encode_remote_write_v2(sample_series_v2(), body);
    std::vector<std::size_t> boundaries;
    {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) boundaries.push_back(r.offset());
    }
    for (std::size_t cut = 1; cut < body.size(); ++cut) {
        INFO(cut);
        series_batch b;
        auto s = decode_remote_write_v2(body.substr(0, cut), b);
        if (std::find(boundaries.begin(), boundaries.end(), cut) == boundaries.end()) {
            REQUIRE_FALSE(s.ok());
            CHECK(s.code() == errc::malformed);
        }
    }
}

TEST_CASE("remote write 2.0: a kept subset gets a rebuilt, compact symbol table",
          "[remote_write_v2]") {
    std::string body;
    encode_remote_write_v2(sample_series_v2(), body);
    series_batch b;
    REQUIRE(decode_remote_write_v2(body, b).ok());
    const std::vector<std::uint8_t> keep{0, 0, 1, 1};
    std::string out;
    REQUIRE(encode_kept(b, keep, out).ok());
    series_batch sub;
    REQUIRE(decode_remote_write_v2(out, sub).ok());
    const auto all = snapshot(b);
    CHECK(snapshot(sub) == std::vector<series_snapshot>{all[2], all[3]});
    // Strings only the dropped series used are gone; the exemplar and unit survive.
    CHECK(out.find("Requests served.") == std::string::npos);
    CHECK(out.find("200") == std::string::npos);
    CHECK(out.find("abc123") != std::string::npos);
    CHECK(out.find("seconds") != std::string::npos);
    CHECK(sub.symbols()[0].empty());
    CHECK(sub.symbols().size() < b.symbols().size());
}

TEST_CASE("remote write 2.0: the writer merges requests with different tables",
          "[remote_write_v2]") {
    std::string body1, body2;
    encode_remote_write_v2(std::vector{ts_v2({{"__name__", "a"}, {"x", "1"}})}, body1);
    encode_remote_write_v2(std::vector{ts_v2({{"y", "2"}, {"__name__", "b"}})}, body2);
    series_batch b1, b2;
    REQUIRE(decode_remote_write_v2(body1, b1).ok());
    REQUIRE(decode_remote_write_v2(body2, b2).ok());
    CHECK(b2.any_labels_unsorted());
    remote_write_v2_writer w;
    REQUIRE(w.add_series(b1, 0).ok());
    REQUIRE(w.add_series(b2, 0).ok());
    std::string out;
    w.finish(out);
    series_batch merged;
    REQUIRE(decode_remote_write_v2(out, merged).ok());
    CHECK(snapshot(merged) ==
          std::vector<series_snapshot>{{"a", {{"x", "1"}}, 1, 0, 0}, {"b", {{"y", "2"}}, 1, 0, 0}});
    CHECK_FALSE(merged.any_labels_unsorted());
}

TEST_CASE("remote write 2.0 converts to 1.0 with metadata once per family", "[remote_write_v2]") {
    auto in = sample_series_v2();
    in[1].metadata_type = 1;
    in[1].help = "Requests served.";
    std::string body;
    encode_remote_write_v2(in, body);
    series_batch b;
    REQUIRE(decode_remote_write_v2(body, b).ok());
    std::string v1;
    REQUIRE(encode_remote_write_v1_subset(b, std::vector<std::uint8_t>(4, 1), v1).ok());
    series_batch back;
    REQUIRE(decode_remote_write_v1(v1, back).ok());
    CHECK(snapshot(back) == snapshot(b));
    std::size_t metadata = 0;
    wire_reader r(v1);
    wire_field f;
    while (r.next(f)) metadata += f.number == 3 ? 1 : 0;
    CHECK(metadata == 2);  // http_requests_total once, latency_seconds once
    CHECK(v1.find("abc123") != std::string::npos);  // exemplar label resolved
}
