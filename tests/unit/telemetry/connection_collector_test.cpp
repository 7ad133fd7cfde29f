#include "telemetry/connection_collector.h"

#include <catch2/catch.hpp>
#include <set>

namespace t = mg::telemetry;
using mg::http::close_reason;

namespace {

double value_of(const prometheus::MetricFamily& f, const std::string& listener, const std::string& reason = {}) {
    for (const auto& m : f.metric) {
        bool match = true;
        for (const auto& l : m.label) {
            if (l.name == "listener" && l.value != listener) match = false;
            if (l.name == "reason" && l.value != reason) match = false;
        }
        if (match) return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
    return -1;
}

}  // namespace

TEST_CASE("connection counters become one series per listener and reason, zeros included", "[telemetry]") {
    auto ingest = std::make_shared<mg::http::connection_counters>();
    auto stats = std::make_shared<mg::http::connection_counters>();
    t::connection_collector c({{"ingest", ingest}, {"stats", stats}});

    ingest->add(close_reason::max_connections);
    ingest->add(close_reason::max_connections);
    ingest->add(close_reason::read_timeout);
    stats->add(close_reason::header_too_large);
    ingest->opened();
    ingest->opened();
    ingest->gone();

    const auto families = c.Collect();
    REQUIRE(families.size() == 2);
    const auto& closed = families[0];
    CHECK(closed.name == "metrics_governor_http_connections_closed_total");
    CHECK(closed.type == prometheus::MetricType::Counter);
    CHECK(closed.metric.size() == 2 * mg::http::k_close_reasons);
    CHECK(value_of(closed, "ingest", "max_connections") == 2);
    CHECK(value_of(closed, "ingest", "read_timeout") == 1);
    CHECK(value_of(closed, "ingest", "header_too_large") == 0);
    CHECK(value_of(closed, "stats", "header_too_large") == 1);
    CHECK(value_of(closed, "stats", "idle_timeout") == 0);

    const auto& open = families[1];
    CHECK(open.name == "metrics_governor_http_open_connections");
    CHECK(value_of(open, "ingest") == 1);
    CHECK(value_of(open, "stats") == 0);
}

TEST_CASE("every close reason has its own label value", "[telemetry]") {
    std::set<std::string> names;
    for (std::size_t i = 0; i < mg::http::k_close_reasons; ++i) {
        names.emplace(mg::http::close_reason_name(static_cast<close_reason>(i)));
    }
    CHECK(names.size() == mg::http::k_close_reasons);
    CHECK(names.count("unknown") == 0);
}
