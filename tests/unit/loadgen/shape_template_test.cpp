// -shape: parsing a shape file, the series derived from it at scale, and the bodies built from it.
#include "loadgen/shape_template.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <string>

#include "decoded.h"
#include "loadgen/options.h"
#include "loadgen/request_builder.h"
#include "shared/temp_dir.h"

using mg::loadgen::owned_label;
using mg::loadgen::request_builder;
using mg::loadgen::shape_template;
using mg::loadgen::wire_protocol;
namespace t = mg::loadgen::test;

namespace {

const char* k_shape = R"(# a comment
up{instance="127.0.0.1:9090",job="prometheus"}
up{instance="127.0.0.1:9100",job="node"}
http_requests_total{code="200",handler="/metrics",instance="127.0.0.1:9090",job="prometheus"}
http_requests_total{code="500",handler="/api",instance="127.0.0.1:9090",job="prometheus"}
http_requests_total{code="200",handler="/api",instance="127.0.0.1:9090",job="prometheus"}

build_info{goversion="go1.19",instance="127.0.0.1:9090",job="prometheus",path="a \"b\" \\c"}
)";

std::string render(const std::vector<owned_label>& labels) {
    std::string out;
    for (const auto& [n, v] : labels) out += n + "=" + v + ";";
    return out;
}

}  // namespace

TEST_CASE("a shape file parses into families, and a bad line is named", "[shape]") {
    auto s = shape_template::parse(k_shape);
    REQUIRE(s.ok());
    CHECK(s->families() == 3);
    CHECK(s->series() == 6);
    // Families sorted by name: build_info, http_requests_total, up.
    CHECK(s->metric_name(0, 3) == "loadgen_build_info");
    CHECK(s->metric_name(2, 3) == "loadgen_up");
    // More metrics than families: repeats get a suffix.
    CHECK(s->metric_name(4, 6) == "loadgen_http_requests_total_1");
    std::vector<owned_label> labels;
    s->labels(0, 3, 0, 7, labels);
    CHECK(render(labels) ==
          "goversion=go1.19;instance=10.0.0.7:9090;job=prometheus;path=a \"b\" \\c;");

    for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
             {"", "no series"},
             {"# only comments\n", "no series"},
             {"{a=\"b\"}", "line 1: no metric name"},
             {"m{a=\"b\"", "line 1: want '}'"},
             {"m{a=\"b}", "unterminated value"},
             {"ok 1\n", "line 1: want '{'"},
             {"m{a=\"1\",a=\"2\"}", "label a twice"},
             {"m{__name__=\"x\"}", "__name__ among the labels"},
             {"m{a=b}", "want =\" after label a"},
         }) {
        INFO(text);
        auto bad = shape_template::parse(text);
        REQUIRE_FALSE(bad.ok());
        CHECK_THAT(bad.error_message(), Catch::Contains(why));
    }
}

TEST_CASE("series of a shape are distinct at any scale, and a new id is a new series",
          "[shape]") {
    auto s = shape_template::parse(k_shape);
    REQUIRE(s.ok());
    std::set<std::string> seen;
    std::vector<owned_label> labels;
    const std::uint32_t metrics = 5;
    for (std::uint32_t m = 0; m < metrics; ++m) {
        for (std::uint64_t j = 0; j < 4000; ++j) {
            s->labels(m, metrics, j, m * 4000 + j, labels);
            CHECK(std::is_sorted(labels.begin(), labels.end()));
            CHECK(seen.insert(s->metric_name(m, metrics) + "|" + render(labels)).second);
        }
    }
    // Past 2^24 ids the port carries the rest.
    s->labels(2, 3, 0, (std::uint64_t{1} << 24) + 5, labels);
    CHECK(render(labels) == "instance=10.0.0.5:9091;job=prometheus;");
}

TEST_CASE("bodies built from a shape decode to its label sets, sorted, one sample each",
          "[shape]") {
    auto s = shape_template::parse(k_shape);
    REQUIRE(s.ok());
    auto shape = std::make_shared<const shape_template>(std::move(*s));
    request_builder b({.series = 1000, .metrics = 3, .labels = 1, .churn = 0.1, .seed = 3},
                      {.protocol = wire_protocol::prw,
                       .series_per_request = 250,
                       .samples_per_series = 1,
                       .timestamp_base_ms = mg::loadgen::k_fixed_timestamp_base_ms},
                      shape);
    std::vector<std::string> bodies;
    std::set<std::string> first_cycle;
    for (int cycle = 0; cycle < 2; ++cycle) {
        b.build_next(bodies, 2);
        REQUIRE(bodies.size() == 4);
        std::set<std::string> series;
        int doubles = 0;
        for (const auto& body : bodies) {
            for (const auto& d : t::decode_prw(body)) {
                std::string key = d.name;
                for (const auto& [n, v] : d.labels) key += "|" + n + "=" + v;
                CHECK(series.insert(key).second);
                CHECK(d.name.rfind("loadgen_", 0) == 0);
                CHECK(d.labels.count("job") == 1);
                REQUIRE(d.samples.size() == 1);
                doubles += d.samples[0].first != static_cast<double>(
                                                      static_cast<std::int64_t>(d.samples[0].first))
                               ? 1
                               : 0;
            }
        }
        CHECK(series.size() == 1000);
        // About half the series carry doubles, as recorded traffic does.
        CHECK(doubles > 300);
        CHECK(doubles < 700);
        if (cycle == 0) {
            first_cycle = series;
        } else {
            std::size_t kept = 0;
            for (const auto& k : series) kept += first_cycle.count(k);
            CHECK(kept == 900);  // churn 0.1: 100 series replaced by new ones
        }
    }
}

TEST_CASE("-shape reads the file, and is refused with OTLP or when unreadable", "[shape]") {
    mg::test::temp_dir dir;
    const auto path = dir.path() + "/shape.txt";
    std::ofstream(path) << k_shape;
    auto ok = mg::loadgen::parse_args({"-url=http://127.0.0.1:1", "-shape=" + path});
    REQUIRE(ok.what == mg::loadgen::parsed_args::action::run);
    REQUIRE(ok.opts.shape);
    CHECK(ok.opts.shape->families() == 3);
    auto otlp =
        mg::loadgen::parse_args({"-url=http://127.0.0.1:1", "-shape=" + path, "-protocol=otlp"});
    REQUIRE(otlp.what == mg::loadgen::parsed_args::action::fail);
    CHECK_THAT(otlp.errors.at(0), Catch::Contains("-shape") && Catch::Contains("remote write"));
    auto missing =
        mg::loadgen::parse_args({"-url=http://127.0.0.1:1", "-shape=" + dir.path() + "/none"});
    REQUIRE(missing.what == mg::loadgen::parsed_args::action::fail);
    CHECK_THAT(missing.errors.at(0), Catch::Contains("cannot read"));
    std::ofstream(dir.path() + "/bad.txt") << "up{a=b}\n";
    auto bad =
        mg::loadgen::parse_args({"-url=http://127.0.0.1:1", "-shape=" + dir.path() + "/bad.txt"});
    REQUIRE(bad.what == mg::loadgen::parsed_args::action::fail);
    CHECK_THAT(bad.errors.at(0), Catch::Contains("line 1"));
}
