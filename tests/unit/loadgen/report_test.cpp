#include "loadgen/report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

using mg::loadgen::run_report;
using mg::loadgen::run_stats;
using mg::loadgen::status_class;

TEST_CASE("status classes, 429 on its own", "[report]") {
    CHECK(status_class(200) == "2xx");
    CHECK(status_class(204) == "2xx");
    CHECK(status_class(301) == "3xx");
    CHECK(status_class(400) == "4xx");
    CHECK(status_class(413) == "4xx");
    CHECK(status_class(429) == "429");
    CHECK(status_class(500) == "5xx");
    CHECK(status_class(503) == "5xx");
    CHECK(status_class(100) == "other");
    CHECK(status_class(600) == "other");
}

TEST_CASE("counting answers and network errors: exit code 0 only when all were 2xx", "[report]") {
    run_report r;
    run_stats& s = r.stats;
    s.record_answer(204, 1000, 2000, 5000, 1'000'000);
    s.record_answer(200, 500, 1000, 2500, 3'000'000);
    CHECK(mg::loadgen::exit_code(r) == 0);

    run_stats other;
    other.record_answer(429, 1000, 2000, 5000, 500'000);
    other.record_answer(503, 1000, 2000, 5000, 700'000);
    other.record_answer(400, 1000, 2000, 5000, 800'000);
    other.record_network_error(1000, 2000, "read: Connection reset by peer");
    other.record_network_error(0, 0, "connect: Connection refused");
    other.connections_opened = 3;
    s.merge(other);

    CHECK(s.first_network_error == "read: Connection reset by peer");  // the first one kept
    CHECK(s.requests == 7);
    CHECK(s.requests_ok == 2);
    CHECK(s.failed() == 5);
    CHECK(s.samples == 11000);
    CHECK(s.samples_ok == 3000);
    CHECK(s.series == 5500);
    CHECK(s.bytes == 22500);  // answered requests only
    CHECK(s.network_errors == 2);
    CHECK(s.latency.count() == 5);
    CHECK(s.connections_opened == 3);
    const auto classes = s.classes();
    REQUIRE(classes.size() == 7);
    const std::vector<std::pair<std::string, std::uint64_t>> expected{
        {"2xx", 2}, {"3xx", 0}, {"4xx", 1}, {"429", 1}, {"5xx", 1}, {"other", 0}, {"network", 2}};
    CHECK(classes == expected);
    CHECK(mg::loadgen::exit_code(r) == 1);
}

TEST_CASE("the JSON report carries the counts, rates and percentiles", "[report]") {
    run_report r;
    r.opts.url = "http://127.0.0.1:1/api/v1/write";
    r.opts.series = 2000;
    r.elapsed_seconds = 2;
    r.cycles_completed = 2;
    r.series_created = 2200;
    r.requests_per_cycle = 4;
    for (int i = 1; i <= 8; ++i)
        r.stats.record_answer(i == 8 ? 500 : 204, 500, 500, 100, i * 1'000'000ULL);
    const auto j = nlohmann::json::parse(mg::loadgen::render_json(r));
    CHECK(j["protocol"] == "prw");
    CHECK(j["url"] == r.opts.url);
    CHECK(j["series"] == 2000);
    CHECK(j["cycles"] == 2);
    CHECK(j["series_created"] == 2200);
    CHECK(j["requests"] == 8);
    CHECK(j["requests_ok"] == 7);
    CHECK(j["requests_failed"] == 1);
    CHECK(j["samples"] == 4000);
    CHECK(j["samples_ok"] == 3500);
    CHECK(j["samples_per_second"].get<double>() == Approx(1750));
    CHECK(j["requests_per_second"].get<double>() == Approx(4));
    CHECK(j["responses"]["2xx"] == 7);
    CHECK(j["responses"]["5xx"] == 1);
    CHECK(j["responses"]["429"] == 0);
    CHECK(j["responses"]["network"] == 0);
    CHECK(j["status_codes"]["204"] == 7);
    CHECK(j["status_codes"]["500"] == 1);
    CHECK(j["latency_ms"]["p50"].get<double>() == Approx(4).epsilon(1.0 / 64));
    CHECK(j["latency_ms"]["p90"].get<double>() == Approx(8).epsilon(1.0 / 64));
    CHECK(j["latency_ms"]["max"].get<double>() == Approx(8));

    const auto text = mg::loadgen::render_text(r);
    CHECK(text.find("8 sent, 7 ok, 1 failed") != std::string::npos);
    CHECK(text.find("2xx=7 3xx=0 4xx=0 429=0 5xx=1 other=0 network=0") != std::string::npos);
    CHECK(text.find("204=7 500=1") != std::string::npos);
    CHECK(text.find("1750 samples/s") != std::string::npos);
}
