#include "limits/cardinality_stats.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

namespace mg::limits {

namespace {

prometheus::MetricFamily family(std::string name, std::string help) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = prometheus::MetricType::Gauge;
    return f;
}

prometheus::ClientMetric gauge(double v, std::vector<prometheus::ClientMetric::Label> labels = {}) {
    prometheus::ClientMetric m;
    m.gauge.value = v;
    m.label = std::move(labels);
    return m;
}

}  // namespace

std::vector<prometheus::MetricFamily> cardinality_collector::Collect() const {
    governor_->refresh();
    std::vector<prometheus::MetricFamily> out;

    auto card =
        family("metrics_governor_metric_cardinality",
               "Distinct active series of a metric name in the window (top -stats-top-n metrics).");
    // One walk over every metric, largest first: the top N make the gauge, all feed utilization.
    const auto all = governor_->top_metrics(SIZE_MAX);
    for (std::size_t i = 0; i < std::min(top_n_, all.size()); ++i) {
        card.metric.push_back(
            gauge(static_cast<double>(all[i].active_series), {{"metric_name", all[i].name}}));
    }
    out.push_back(std::move(card));

    auto active =
        family("metrics_governor_active_series", "Distinct active series over all metric names.");
    active.metric.push_back(gauge(static_cast<double>(governor_->active_series())));
    out.push_back(std::move(active));

    auto trackers =
        family("metrics_governor_trackers_total", "Metric names with a cardinality tracker.");
    trackers.metric.push_back(gauge(static_cast<double>(governor_->trackers())));
    out.push_back(std::move(trackers));

    auto memory = family("metrics_governor_tracker_memory_bytes",
                         "Memory held by cardinality trackers and label sketches.");
    memory.metric.push_back(gauge(static_cast<double>(governor_->memory_bytes())));
    out.push_back(std::move(memory));

    // The fullest metric governed by each rule: 1 means new series of that metric are dropped.
    auto util = family("metrics_governor_limit_utilization_ratio",
                       "Highest active series / max_cardinality among the metrics a rule governs.");
    const auto file = governor_->limits();
    std::map<std::string, double> ratio;
    for (const auto& r : file->rules) {
        if (r.max_cardinality != 0) ratio[r.name] = 0;
    }
    if (file->has_defaults && file->defaults.max_cardinality != 0) ratio["default"] = 0;
    for (const auto& m : all) {
        if (m.limit == 0 || !ratio.contains(m.rule)) continue;
        ratio[m.rule] = std::max(
            ratio[m.rule], static_cast<double>(m.active_series) / static_cast<double>(m.limit));
    }
    for (const auto& [rule, v] : ratio) util.metric.push_back(gauge(v, {{"rule", rule}}));
    out.push_back(std::move(util));

    // Per tenant, under the label bound: the tenants past it add up in "__other__".
    auto tenant_active = family("metrics_governor_tenant_active_series",
                                "Distinct active series of a tenant over all its metric names "
                                "(tenants past -limits-max-tenants-in-metrics as __other__).");
    std::map<std::string, double> by_label;
    for (const auto& t : governor_->tenants()) {
        if (!t.is_default && t.metrics == 0 && t.active_series == 0) continue;
        by_label[governor_->tenant_label(t.is_default ? std::string_view() : t.name)] +=
            static_cast<double>(t.active_series);
    }
    for (const auto& [label, v] : by_label)
        tenant_active.metric.push_back(gauge(v, {{"tenant", label}}));
    out.push_back(std::move(tenant_active));
    return out;
}

namespace {

// Tenant and metric names are the senders' bytes: invalid UTF-8 is replaced, never thrown over.
std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

http::response error_response(const http::request& req, http::bhttp::status status,
                              std::string_view type, std::string message) {
    nlohmann::json err{{"status", "error"}, {"errorType", type}, {"error", std::move(message)}};
    return http::make_response(req, status, dump_json(err), http::k_json);
}

// GET /api/v1/tenants: every tenant with its series, cap and drops.
http::response tenants_response(const http::request& req, governor& g) {
    g.refresh();
    auto list = nlohmann::json::array();
    for (const auto& t : g.tenants()) {
        list.push_back({{"name", t.name},
                        {"default", t.is_default},
                        {"activeSeries", t.active_series},
                        {"maxSeries", t.max_series},
                        {"metrics", t.metrics},
                        {"droppedSeries", t.dropped_series},
                        {"droppedDatapoints", t.dropped_datapoints}});
    }
    nlohmann::json body{{"status", "success"}, {"data", {{"tenants", std::move(list)}}}};
    return http::make_response(req, http::bhttp::status::ok, dump_json(body), http::k_json);
}

}  // namespace

void add_cardinality_routes(http::router& routes, std::shared_ptr<governor> g,
                            std::size_t default_limit) {
    routes.add(http::bhttp::verb::get, "/api/v1/tenants",
               [g](const http::request& req) { return tenants_response(req, *g); });
    routes.add(
        http::bhttp::verb::get, "/api/v1/cardinality",
        [g, default_limit](const http::request& req) {
            const auto q = http::query_params(req.target());
            // ?tenant=NAME scopes the answer; none (or the default tenant's name) is the
            // default tenant.
            std::string tenant;
            if (auto it = q.find("tenant"); it != q.end()) {
                auto t = g->resolve_tenant(it->second);
                if (!t) {
                    return error_response(req, http::bhttp::status::not_found, "not_found",
                                          "no tenant \"" + it->second.substr(0, 256) +
                                              "\" (GET /api/v1/tenants lists them)");
                }
                tenant = std::move(*t);
            }
            const auto asked = http::positive_param(q, "limit", default_limit);
            if (!asked)
                return error_response(req, http::bhttp::status::bad_request, "bad_data",
                                      http::positive_param_error(q, "limit"));
            const std::size_t limit = std::min<std::size_t>(*asked, 100000);
            g->refresh();
            nlohmann::json data;
            data["totalSeries"] = g->active_series();
            if (q.contains("tenant")) {
                for (const auto& t : g->tenants()) {
                    if (t.is_default != tenant.empty() || (!tenant.empty() && t.name != tenant))
                        continue;
                    data["tenant"] = {{"name", t.name},
                                      {"default", t.is_default},
                                      {"activeSeries", t.active_series},
                                      {"maxSeries", t.max_series},
                                      {"droppedSeries", t.dropped_series}};
                    data["totalSeries"] = t.active_series;
                }
            }
            data["trackers"] = g->trackers();
            data["dryRun"] = g->options().dry_run;
            data["cluster"] = g->clustered();
            auto& top = data["seriesCountByMetricName"] = nlohmann::json::array();
            for (const auto& m : g->top_metrics(limit, tenant)) {
                top.push_back({{"name", m.name},
                               {"value", m.active_series},
                               {"limit", m.limit},
                               {"rule", m.rule},
                               {"droppedSeries", m.dropped_series},
                               {"droppedDatapoints", m.dropped_datapoints}});
                // Cluster mode: the count over every replica beside this replica's view.
                if (m.cluster_active_series >= 0)
                    top.back()["clusterValue"] = m.cluster_active_series;
            }
            if (auto it = q.find("metric"); it != q.end()) {
                const auto m = g->metric(it->second, tenant);
                if (!m) {
                    nlohmann::json err{
                        {"status", "error"},
                        {"errorType", "not_found"},
                        {"error", "no active series for metric \"" + it->second + "\""}};
                    return http::make_response(req, http::bhttp::status::not_found, dump_json(err),
                                               http::k_json);
                }
                data["metric"] = {{"name", m->name},
                                  {"value", m->active_series},
                                  {"limit", m->limit},
                                  {"rule", m->rule},
                                  {"droppedSeries", m->dropped_series},
                                  {"droppedDatapoints", m->dropped_datapoints}};
                if (m->cluster_active_series >= 0)
                    data["metric"]["clusterValue"] = m->cluster_active_series;
                auto& labels = data["labelValueCountByLabelName"] = nlohmann::json::array();
                for (const auto& l : g->label_values(it->second, tenant))
                    labels.push_back({{"name", l.name}, {"value", l.distinct_values}});
            }
            nlohmann::json body{{"status", "success"}, {"data", std::move(data)}};
            return http::make_response(req, http::bhttp::status::ok, dump_json(body), http::k_json);
        });
}

}  // namespace mg::limits
