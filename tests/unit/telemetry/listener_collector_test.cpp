#include "telemetry/listener_collector.h"

#include <catch2/catch.hpp>
#include <set>

namespace t = mg::telemetry;
using mg::http::close_reason;

namespace {

double value_of(const prometheus::MetricFamily& f, const std::string& listener,
                const std::string& reason = {}) {
    for (const auto& m : f.metric) {
        bool match = true;
        for (const auto& l : m.label) {
            if (l.name == "listener" && l.value != listener) match = false;
            if (l.name == "reason" && l.value != reason) match = false;
        }
        if (match)
            return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
    return -1;
}

}  // namespace

TEST_CASE("listener counters become one series per listener (and close reason), zeros included",
          "[telemetry]") {
    auto ingest = std::make_shared<mg::http::connection_counters>();
    auto stats = std::make_shared<mg::http::connection_counters>();
    auto ingest_access = std::make_shared<mg::http::access_counters>();
    auto stats_access = std::make_shared<mg::http::access_counters>();
    t::listener_collector c({{"ingest", ingest, ingest_access}, {"stats", stats, stats_access}});

    ingest->add(close_reason::max_connections);
    ingest->add(close_reason::max_connections);
    ingest->add(close_reason::read_timeout);
    stats->add(close_reason::header_too_large);
    ingest->opened();
    ingest->opened();
    ingest->gone();

    ingest_access->unauthorized();
    ingest_access->unauthorized();
    ingest_access->unauthorized();
    stats_access->tls_handshake_failed();

    const auto families = c.Collect();
    REQUIRE(families.size() == 4);
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
    CHECK(open.type == prometheus::MetricType::Gauge);
    CHECK(value_of(open, "ingest") == 1);
    CHECK(value_of(open, "stats") == 0);

    const auto& unauthorized = families[2];
    CHECK(unauthorized.name == "metrics_governor_http_unauthorized_total");
    CHECK(unauthorized.type == prometheus::MetricType::Counter);
    CHECK(unauthorized.metric.size() == 2);
    CHECK(value_of(unauthorized, "ingest") == 3);
    CHECK(value_of(unauthorized, "stats") == 0);
    const auto& tls_failed = families[3];
    CHECK(tls_failed.name == "metrics_governor_tls_handshake_failures_total");
    CHECK(value_of(tls_failed, "ingest") == 0);
    CHECK(value_of(tls_failed, "stats") == 1);
}

TEST_CASE("every close reason has its own label value", "[telemetry]") {
    std::set<std::string> names;
    for (std::size_t i = 0; i < mg::http::k_close_reasons; ++i) {
        names.emplace(mg::http::close_reason_name(static_cast<close_reason>(i)));
    }
    CHECK(names.size() == mg::http::k_close_reasons);
    CHECK(names.count("unknown") == 0);
}
