#include "protocol/remote_write.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "cardinality/series_hash.h"
#include "protocol/compression.h"
#include "protocol/encode_kept.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"
#include "test_util.h"

using namespace mg::protocol;
using mg::protocol::test::bytes;
using mg::protocol::test::series_snapshot;
using mg::protocol::test::snapshot;

namespace {

// WriteRequest{timeseries: [{labels: [__name__="up", job="a"], samples: [{1.0, 5}]}]}, by hand.
const std::string k_hand =
    bytes({0x0a, 0x27,                                                    //
           0x0a, 0x0e, 0x0a, 0x08, '_', '_', 'n', 'a',  'm',  'e',  '_',  //
           '_',  0x12, 0x02, 'u',  'p',                                   //
           0x0a, 0x08, 0x0a, 0x03, 'j', 'o', 'b', 0x12, 0x01, 'a',        //
           0x12, 0x0b, 0x09, 0,    0,   0,   0,   0,    0,    0xf0, 0x3f, 0x10, 0x05});

owned_timeseries ts(std::vector<owned_label> labels, std::size_t samples = 1) {
    owned_timeseries t;
    t.labels = std::move(labels);
    for (std::size_t i = 0; i < samples; ++i) {
        t.samples.push_back({static_cast<double>(i), 1700000000000 + static_cast<std::int64_t>(i)});
    }
    return t;
}

std::vector<owned_timeseries> sample_series() {
    std::vector<owned_timeseries> v;
    v.push_back(ts({{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}, 2));
    v.push_back(ts({{"__name__", "http_requests_total"}, {"code", "500"}, {"job", "api"}}));
    auto h = ts({{"__name__", "latency"}, {"le", "native"}}, 0);
    h.histograms.push_back({10, 2.5, 3, 1700000000000});
    h.exemplars.push_back({{{"trace_id", "abc"}}, 1.5, 1700000000001});
    v.push_back(h);
    v.push_back(ts({{"__name__", "up"}, {"instance", "x:9100"}}));
    return v;
}

decode_status decode(const std::string& body, series_batch& b) {
    return decode_remote_write_v1(body, b);
}

}  // namespace

TEST_CASE("remote write 1.0: a hand-written body decodes", "[remote_write]") {
    series_batch b;
    REQUIRE(decode(k_hand, b).ok());
    REQUIRE(b.size() == 1);
    CHECK(b[0].metric_name == "up");
    REQUIRE(b[0].labels.size() == 1);
    CHECK(b[0].labels[0] == label_view{"job", "a"});
    CHECK(b[0].samples == 1);
    CHECK(b.entry(0).raw == k_hand);
    CHECK_FALSE(b.any_labels_unsorted());
    // Views point into the body: no copies.
    CHECK(b[0].metric_name.data() >= k_hand.data());
    CHECK(b[0].metric_name.data() < k_hand.data() + k_hand.size());
}

TEST_CASE("remote write 1.0: encoder output decodes to the same series", "[remote_write]") {
    const auto in = sample_series();
    std::string body;
    encode_remote_write_v1(in, {}, body);
    series_batch b;
    REQUIRE(decode(body, b).ok());
    const auto got = snapshot(b);
    REQUIRE(got.size() == 4);
    CHECK(got[0] ==
          series_snapshot{"http_requests_total", {{"code", "200"}, {"job", "api"}}, 2, 0, 0});
    CHECK(got[2] == series_snapshot{"latency", {{"le", "native"}}, 0, 1, 1});
    CHECK(b.total_samples() == 4);
    CHECK(b.total_histograms() == 1);
    CHECK(b.total_exemplars() == 1);
}

TEST_CASE("remote write 1.0: decoding after snappy, reusing the batch", "[remote_write]") {
    std::string body, z, plain;
    encode_remote_write_v1(sample_series(), {}, body);
    snappy_encode(body, z);
    REQUIRE(snappy_decode(z, 1 << 20, plain).ok());
    series_batch b;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(decode(plain, b).ok());
        CHECK(b.size() == 4);
    }
}

TEST_CASE("remote write 1.0: truncation at every offset is an error or a strict prefix",
          "[remote_write]") {
    std::string body;
    encode_remote_write_v1(sample_series(), std::vector<owned_metadata>{{1, "up", "help", ""}},
                           body);
    series_batch full;
    REQUIRE(decode(body, full).ok());
    // Top-level field boundaries: a protobuf cut exactly there is a valid shorter message.
    std::vector<std::size_t> boundaries;
    {
        wire_reader r(body);
        wire_field f;
        while (r.next(f)) boundaries.push_back(r.offset());
    }
    for (std::size_t cut = 1; cut < body.size(); ++cut) {
        INFO(cut);
        series_batch b;
        auto s = decode(body.substr(0, cut), b);
        if (std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end()) {
            REQUIRE(s.ok());
            CHECK(b.size() <= full.size());
        } else {
            REQUIRE_FALSE(s.ok());
            CHECK(s.code() == errc::malformed);
        }
    }
}

TEST_CASE("remote write 1.0: protobuf errors are malformed with a message", "[remote_write]") {
    series_batch b;
    // Overlong varint as the length of a timeseries.
    auto s = decode(bytes({0x0a}) + std::string(11, '\xff'), b);
    CHECK(s.code() == errc::malformed);
    CHECK_THAT(s.error_message(), Catch::Contains("longer than 10 bytes"));
    // timeseries with a varint wire type.
    s = decode(bytes({0x08, 0x01}), b);
    CHECK_THAT(s.error_message(), Catch::Contains("wire type varint, want length-delimited"));
    // A label name with a fixed32 wire type.
    s = decode(bytes({0x0a, 0x07, 0x0a, 0x05, 0x0d, 1, 2, 3, 4}), b);
    CHECK_THAT(s.error_message(), Catch::Contains("timeseries 0"));
    CHECK_THAT(s.error_message(), Catch::Contains("Label"));
    // A sample value with a varint wire type.
    s = decode(bytes({0x0a, 0x04, 0x12, 0x02, 0x08, 0x01}), b);
    CHECK_THAT(s.error_message(), Catch::Contains("Sample.value"));
    // Unknown fields of any wire type are skipped.
    std::string ok = bytes({0x10, 0x05, 0x25, 1, 2, 3, 4, 0x29, 1, 2, 3, 4, 5, 6, 7, 8}) + k_hand;
    REQUIRE(decode(ok, b).ok());
    CHECK(b.size() == 1);
}

TEST_CASE("remote write 1.0: label validation", "[remote_write]") {
    series_batch b;
    std::string body;
    SECTION("invalid UTF-8 in a value") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "up"}, {"job", "\xc3\x28"}})}, {},
                               body);
        auto s = decode(body, b);
        CHECK(s.code() == errc::malformed);
        CHECK_THAT(s.error_message(), Catch::Contains("invalid UTF-8"));
    }
    SECTION("invalid UTF-8 in a name") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "up"}, {"j\xffob", "x"}})}, {}, body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("invalid UTF-8 in label name"));
    }
    SECTION("invalid UTF-8 in the metric name") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "u\xed\xa0\x80p"}})}, {}, body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("invalid UTF-8"));
    }
    SECTION("empty label name") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "up"}, {"", "x"}})}, {}, body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("empty label name"));
    }
    SECTION("duplicate label name, adjacent or not") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "up"}, {"a", "1"}, {"a", "2"}})}, {},
                               body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("duplicate label name \"a\""));
        encode_remote_write_v1(
            std::vector{ts({{"b", "1"}, {"__name__", "up"}, {"a", "1"}, {"b", "2"}})}, {}, body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("duplicate label name \"b\""));
    }
    SECTION("duplicate __name__") {
        encode_remote_write_v1(std::vector{ts({{"__name__", "up"}, {"__name__", "down"}})}, {},
                               body);
        CHECK_THAT(decode(body, b).error_message(), Catch::Contains("__name__"));
    }
    SECTION("valid multi-byte UTF-8 is accepted") {
        encode_remote_write_v1(
            std::vector{ts({{"__name__", "température"}, {"ville", "Zürich \xf0\x9f\x98\x80"}})},
            {}, body);
        REQUIRE(decode(body, b).ok());
        CHECK(b[0].metric_name == "température");
    }
}

TEST_CASE("remote write 1.0: unsorted labels are normalized and re-encoded sorted",
          "[remote_write]") {
    std::string body;
    encode_remote_write_v1(
        std::vector{ts({{"zone", "eu"}, {"job", "api"}, {"__name__", "up"}, {"Alpha", "1"}}, 3),
                    ts({{"__name__", "up"}, {"job", "db"}})},
        {}, body);
    series_batch b;
    REQUIRE(decode(body, b).ok());
    CHECK(b.any_labels_unsorted());
    CHECK(b.entry(0).wire_labels_unsorted);
    CHECK_FALSE(b.entry(1).wire_labels_unsorted);
    const auto got = snapshot(b);
    CHECK(got[0] ==
          series_snapshot{"up", {{"Alpha", "1"}, {"job", "api"}, {"zone", "eu"}}, 3, 0, 0});

    std::string out;
    const std::vector<std::uint8_t> keep{1, 1};
    REQUIRE(encode_kept(b, keep, out).ok());
    series_batch again;
    REQUIRE(decode(out, again).ok());
    CHECK_FALSE(again.any_labels_unsorted());
    CHECK(snapshot(again) == got);
    // The wire order of the rewritten series is sorted with __name__ in its place.
    wire_reader r(again.entry(0).raw);
    wire_field f;
    REQUIRE(r.next(f));
    wire_reader tr(f.bytes);
    std::vector<std::string> names;
    wire_field g;
    while (tr.next(g)) {
        if (g.number != 1) continue;
        wire_reader lr(g.bytes);
        wire_field n;
        REQUIRE(lr.next(n));
        names.emplace_back(n.bytes);
    }
    CHECK(names == std::vector<std::string>{"Alpha", "__name__", "job", "zone"});
}

TEST_CASE("remote write 1.0: a kept subset round-trips with metadata and raw bytes",
          "[remote_write]") {
    const auto in = sample_series();
    std::string body;
    encode_remote_write_v1(
        in, std::vector<owned_metadata>{{1, "http_requests_total", "Requests.", ""}}, body);
    series_batch b;
    REQUIRE(decode(body, b).ok());
    const std::vector<std::uint8_t> keep{1, 0, 1, 0};
    std::string out;
    REQUIRE(encode_kept(b, keep, out).ok());
    // Kept series are copied byte for byte.
    CHECK(out.substr(0, b.entry(0).raw.size()) == b.entry(0).raw);
    series_batch sub;
    REQUIRE(decode(out, sub).ok());
    const auto all = snapshot(b);
    CHECK(snapshot(sub) == std::vector<series_snapshot>{all[0], all[2]});
    // Metadata is carried over.
    CHECK(out.find("Requests.") != std::string::npos);
    // Keeping nothing leaves only metadata; keeping everything reproduces the series.
    std::string none;
    REQUIRE(encode_kept(b, std::vector<std::uint8_t>(4, 0), none).ok());
    REQUIRE(decode(none, sub).ok());
    CHECK(sub.size() == 0);
    CHECK(encode_kept(b, std::vector<std::uint8_t>(3, 1), out).code() == errc::malformed);
}

TEST_CASE("remote write 1.0: a writer merges series of several requests", "[remote_write]") {
    std::string body1, body2;
    encode_remote_write_v1(std::vector{ts({{"__name__", "a"}})}, {}, body1);
    encode_remote_write_v1(std::vector{ts({{"job", "x"}, {"__name__", "b"}})}, {}, body2);
    series_batch b1, b2;
    REQUIRE(decode(body1, b1).ok());
    REQUIRE(decode(body2, b2).ok());
    std::string out;
    remote_write_v1_writer w(out);
    REQUIRE(w.add_series(b1, 0).ok());
    REQUIRE(w.add_series(b2, 0).ok());
    CHECK(w.series_count() == 2);
    series_batch merged;
    REQUIRE(decode(out, merged).ok());
    REQUIRE(merged.size() == 2);
    CHECK(merged[0].metric_name == "a");
    CHECK(merged[1].metric_name == "b");
    CHECK(merged[1].labels[0] == label_view{"job", "x"});
}

TEST_CASE("valid_utf8 accepts and rejects the right sequences", "[remote_write]") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii that is longer than eight bytes"));
    CHECK(valid_utf8("\xc2\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
    CHECK_FALSE(valid_utf8("\x80"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(valid_utf8("abcdefgh\xe2\x82"));  // truncated after the fast path
}

TEST_CASE("remote write 1.0: the decoder's series identity is the hash of its views",
          "[remote_write]") {
    // Random series in every shape the fast path meets: sorted with __name__ first (identity from
    // the wire), names sorting before __name__, unsorted labels, long and empty values, non-ASCII
    // text, no metric name. Whenever the decoder hands out an identity it must equal the hash of
    // the views it hands out with it, or a series would count twice across protocols.
    std::mt19937_64 rng(7);
    const std::vector<std::string> pool{"A",   "Zone", "a",   "code", "instance",
                                        "job", "le",   "pod", "z",    "_x"};
    std::size_t with_identity = 0, without = 0;
    for (int round = 0; round < 200; ++round) {
        std::vector<owned_timeseries> in;
        for (int i = 0; i < 20; ++i) {
            std::vector<std::pair<std::string, std::string>> ls;
            if (rng() % 8 != 0) ls.emplace_back("__name__", "m" + std::to_string(rng() % 3));
            for (const auto& n : pool) {
                if (rng() % 3 != 0) continue;
                std::string v;
                switch (rng() % 6) {
                    case 0:
                        v = "";
                        break;
                    case 1:
                        v = std::string(100 + rng() % 100, 'x');
                        break;
                    case 2:
                        v = "caf\xc3\xa9";
                        break;
                    default:
                        v = std::to_string(rng() % 1000);
                }
                ls.emplace_back(n, v);
            }
            if (rng() % 2 == 0) {
                std::sort(ls.begin(), ls.end());
            } else {
                std::shuffle(ls.begin(), ls.end(), rng);
            }
            owned_timeseries t;
            for (auto& [n, v] : ls) t.labels.push_back({n, v});
            t.samples.push_back({1.0, 1700000000000});
            in.push_back(std::move(t));
        }
        std::string body;
        encode_remote_write_v1(in, {}, body);
        series_batch b;
        REQUIRE(decode(body, b).ok());
        for (std::size_t i = 0; i < b.size(); ++i) {
            const series_view v = b[i];
            if (!v.has_identity) {
                ++without;
                continue;
            }
            ++with_identity;
            INFO(snapshot(b)[i]);
            REQUIRE(v.identity == mg::cardinality::series_hash_sorted(v.metric_name, v.labels));
        }
    }
    // Both ways were taken many times.
    CHECK(with_identity > 500);
    CHECK(without > 500);

    // What Prometheus sends (sorted, __name__ first) gets its identity from the wire; a label
    // sorting before __name__ or unsorted labels leave it to the consumer.
    std::string body;
    encode_remote_write_v1(sample_series(), {}, body);
    series_batch b;
    REQUIRE(decode(body, b).ok());
    for (std::size_t i = 0; i < b.size(); ++i) CHECK(b[i].has_identity);
    std::vector<owned_timeseries> odd;
    odd.push_back(ts({{"Zone", "a"}, {"__name__", "up"}}));
    odd.push_back(ts({{"__name__", "up"}, {"job", "b"}, {"code", "1"}}));
    encode_remote_write_v1(odd, {}, body);
    REQUIRE(decode(body, b).ok());
    REQUIRE(b.size() == 2);
    CHECK_FALSE(b[0].has_identity);
    CHECK_FALSE(b[1].has_identity);

    // A Label length written as a padded varint (0x88 0x80 0x00 for 8) is valid protobuf but
    // other bytes than the canonical encoding: no identity from the wire, and the same series as
    // its canonical form once hashed.
    const std::string name_label = std::string("\x0a\x08__name__\x12\x02up", 14);
    const std::string job_label = std::string(
        "\x0a\x03job\x12\x01"
        "a",
        8);
    const std::string padded_ts = "\x0a\x0e" + name_label + std::string("\x0a\x88\x80\x00", 4) +
                                  job_label + std::string("\x12\x09\x09\0\0\0\0\0\0\xf0\x3f", 11);
    const std::string plain_ts = "\x0a\x0e" + name_label + "\x0a\x08" + job_label +
                                 std::string("\x12\x09\x09\0\0\0\0\0\0\xf0\x3f", 11);
    const std::string padded =
        "\x0a" + std::string(1, static_cast<char>(padded_ts.size())) + padded_ts;
    const std::string plain =
        "\x0a" + std::string(1, static_cast<char>(plain_ts.size())) + plain_ts;
    REQUIRE(decode(plain, b).ok());
    REQUIRE(b.size() == 1);
    REQUIRE(b[0].has_identity);
    const auto id = b[0].identity;
    REQUIRE(decode(padded, b).ok());
    REQUIRE(b.size() == 1);
    CHECK(b[0].metric_name == "up");
    CHECK_FALSE(b[0].has_identity);
    CHECK(mg::cardinality::series_hash_sorted(b[0].metric_name, b[0].labels) == id);
}
