#include "ui/ui_routes.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "ui/ui_assets.h"

namespace mg::ui {

namespace {

// The page loads only from the daemon itself: no inline script, no outside origin, no framing.
constexpr std::string_view k_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view content_type(std::string_view name) {
    if (name.ends_with(".html")) return "text/html; charset=utf-8";
    if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (name.ends_with(".css")) return "text/css; charset=utf-8";
    if (name.ends_with(".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

std::string url_of(std::string_view name) {
    return name == "index.html" ? std::string("/ui") : "/ui/" + std::string(name);
}

// Metric names and label values are the senders' bytes: invalid UTF-8 is replaced.
std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json series_json(const std::vector<std::int64_t>& values) {
    auto out = nlohmann::json::array();
    for (auto v : values) out.push_back(v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v));
    return out;
}

http::response history_response(const http::request& req, const ui_sources& src) {
    const auto q = http::query_params(req.target());
    const auto& h = *src.history;
    const auto asked = http::positive_param(q, "limit", 20);
    if (!asked) {
        const nlohmann::json err{{"status", "error"},
                                 {"errorType", "bad_data"},
                                 {"error", http::positive_param_error(q, "limit")}};
        return http::make_response(req, http::bhttp::status::bad_request, dump_json(err),
                                   http::k_json);
    }
    const std::size_t limit = std::min(*asked, h.options().top_n);
    nlohmann::json data;
    data["intervalSeconds"] = h.options().interval.count();
    data["capacity"] = h.options().slots;
    data["topN"] = h.options().top_n;
    const auto totals = h.totals();
    auto& times = data["timestamps"] = nlohmann::json::array();
    auto& total = data["totalSeries"] = nlohmann::json::array();
    auto& kept = data["keptPerSecond"] = nlohmann::json::array();
    nlohmann::json dropped = nlohmann::json::object();
    for (std::size_t r = 1; r < limits::k_drop_reasons; ++r)
        dropped[std::string(limits::reason_name(static_cast<limits::drop_reason>(r)))] =
            nlohmann::json::array();
    for (const auto& t : totals) {
        times.push_back(t.unix_ms);
        total.push_back(t.total_series);
        kept.push_back(t.kept_per_second);
        for (std::size_t r = 1; r < limits::k_drop_reasons; ++r)
            dropped[std::string(limits::reason_name(static_cast<limits::drop_reason>(r)))]
                .push_back(t.dropped_per_second[r]);
    }
    data["droppedPerSecond"] = std::move(dropped);
    data["maxSeries"] = src.max_series;
    // ?tenant=NAME: that tenant's metrics (the totals stay the daemon's, over every tenant); a
    // tenant the ring has no sample of has none.
    std::string tenant;
    const auto tenant_it = q.find("tenant");
    const bool has_tenant = tenant_it != q.end();
    if (has_tenant && tenant_it->second != src.default_tenant_name) tenant = tenant_it->second;
    auto& metrics = data["metrics"] = nlohmann::json::array();
    for (const auto& m : h.top(limit, tenant)) {
        std::vector<std::int64_t> drops(m.active_series.size(), 0);
        for (const auto& by_reason : m.dropped) {
            for (std::size_t i = 0; i < drops.size(); ++i) drops[i] += by_reason[i];
        }
        metrics.push_back({{"name", m.name},
                           {"activeSeries", series_json(m.active_series)},
                           {"droppedSeries", series_json(drops)}});
    }
    data["droppedSamplesEnabled"] = src.samples != nullptr;
    if (has_tenant) {
        data["tenant"] = tenant.empty() ? src.default_tenant_name : tenant;
        // The tenant's own active series beside the daemon's totalSeries.
        auto series = h.tenant_series(tenant);
        series.resize(totals.size(), -1);  // a sample recorded since totals() was read
        data["tenantSeries"] = series_json(series);
    }
    if (auto it = q.find("metric"); it != q.end()) {
        const auto m = h.metric(it->second, tenant);
        if (m) {
            nlohmann::json by_reason = nlohmann::json::object();
            for (std::size_t r = 0; r < k_metric_reasons.size(); ++r)
                by_reason[std::string(limits::reason_name(k_metric_reasons[r]))] =
                    series_json(m->dropped[r]);
            data["metric"] = {{"name", m->name},
                              {"activeSeries", series_json(m->active_series)},
                              {"droppedSeries", std::move(by_reason)}};
        } else {
            data["metric"] = nullptr;
        }
        if (src.samples) {
            auto& list = data["droppedSamples"] = nlohmann::json::array();
            for (const auto& d : src.samples->recent(it->second, 50, tenant)) {
                auto labels = nlohmann::json::array();
                for (const auto& [name, value] : d.labels)
                    labels.push_back({{"name", name}, {"value", value}});
                list.push_back({{"time", d.unix_ms},
                                {"reason", limits::reason_name(d.reason)},
                                {"labels", std::move(labels)},
                                {"labelsCut", d.labels_cut}});
            }
        }
    }
    nlohmann::json body{{"status", "success"}, {"data", std::move(data)}};
    return http::make_response(req, http::bhttp::status::ok, dump_json(body), http::k_json);
}

}  // namespace

std::vector<std::string> ui_paths() {
    std::vector<std::string> out{"/ui/"};
    for (const auto& a : embedded_assets()) out.push_back(url_of(a.name));
    return out;
}

void add_ui_routes(http::router& routes, ui_sources sources) {
    auto src = std::make_shared<const ui_sources>(std::move(sources));
    routes.add(http::bhttp::verb::get, "/api/v1/cardinality/history",
               [src](const http::request& req) { return history_response(req, *src); });
    for (const auto& a : embedded_assets()) {
        auto serve = [a](const http::request& req) {
            auto res = http::make_response(req, http::bhttp::status::ok, std::string(a.body),
                                           content_type(a.name));
            res.set(http::bhttp::field::cache_control, "no-cache");
            res.set("Content-Security-Policy", k_csp);
            res.set("X-Content-Type-Options", "nosniff");
            res.set("Referrer-Policy", "no-referrer");
            return res;
        };
        routes.add(http::bhttp::verb::get, url_of(a.name), serve);
        if (a.name == "index.html") routes.add(http::bhttp::verb::get, "/ui/", serve);
    }
}

}  // namespace mg::ui
