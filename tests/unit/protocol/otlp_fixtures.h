// An OTLP request with every metric type and every AnyValue kind, shared by the OTLP tests.
#pragma once

#include <vector>

#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"

namespace mg::protocol::test {

inline otlp_key_value kv(std::string k, otlp_any_value v) {
    return {std::move(k), std::move(v)};
}
inline otlp_key_value kv(std::string k, const char* v) {
    return {std::move(k), otlp_any_value::str(v)};
}

inline std::vector<otlp_resource> otlp_sample() {
    otlp_any_value arr;
    arr.k = otlp_any_value::kind::array;
    arr.array = {otlp_any_value::str("a\"b"), otlp_any_value::integer(-3),
                 otlp_any_value::boolean(false), otlp_any_value{}};
    otlp_any_value kvl;
    kvl.k = otlp_any_value::kind::kvlist;
    kvl.kvlist = {kv("z", otlp_any_value::dbl(0.5)), kv("a", otlp_any_value::bytes("\x01\x02"))};

    otlp_resource res;
    res.attributes = {kv("service.name", "checkout"), kv("host.name", "h1"), kv("env", "prod")};
    otlp_scope sc;
    sc.name = "io.opentelemetry.http";
    sc.version = "1.2.0";
    sc.attributes = {kv("lib.flag", otlp_any_value::boolean(true))};

    otlp_metric gauge{"queue_depth", "Queue depth.", "1", metric_kind::gauge, {}};
    gauge.points.push_back({{kv("queue", "a"), kv("env", "staging")}, 3, 1000, 0});
    gauge.points.push_back({{kv("queue", "b")}, 4, 1000, 1});
    otlp_metric sum{"requests", "", "", metric_kind::sum, {}};
    sum.points.push_back(
        {{kv("code", otlp_any_value::integer(200)), kv("tags", arr)}, 10, 1000, 2});
    otlp_metric hist{"latency", "", "s", metric_kind::histogram, {}};
    hist.points.push_back(
        {{kv("route", "/x"), kv("ratio", otlp_any_value::dbl(0.1))}, 1.5, 1000, 1});
    otlp_metric exph{"size", "", "By", metric_kind::exponential_histogram, {}};
    exph.points.push_back({{kv("m", kvl)}, 7, 1000, 0});
    otlp_metric summ{"gc", "", "", metric_kind::summary, {}};
    summ.points.push_back({{kv("id", otlp_any_value::bytes("\xde\xad\xbe\xef"))}, 2, 1000, 0});
    sc.metrics = {gauge, sum, hist, exph, summ};

    otlp_scope empty_scope;  // no name/version/attributes
    otlp_metric g2{"queue_depth", "", "", metric_kind::gauge, {}};
    g2.points.push_back({{kv("queue", "a")}, 1, 1000, 0});
    empty_scope.metrics = {g2};
    res.scopes = {sc, empty_scope};

    otlp_resource res2;
    res2.attributes = {kv("service.name", "billing")};
    otlp_scope sc2;
    sc2.name = "x";
    otlp_metric g3{"queue_depth", "", "", metric_kind::gauge, {}};
    g3.points.push_back({{kv("queue", "c")}, 5, 1000, 0});
    sc2.metrics = {g3};
    res2.scopes = {sc2};
    return {res, res2};
}

}  // namespace mg::protocol::test
