#include "telemetry/stats_endpoints.h"

#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

namespace mg::telemetry {

std::string_view health::name(phase p) {
    switch (p) {
        case phase::starting:
            return "starting";
        case phase::ready:
            return "up";
        case phase::stopping:
            return "shutting_down";
    }
    return "unknown";
}

std::string render_metrics(const stats_sources& sources) {
    auto families = sources.registry->Collect();
    for (const auto& c : sources.collectables) {
        auto more = c->Collect();
        families.insert(families.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
    }
    return prometheus::TextSerializer().Serialize(families);
}

void add_stats_routes(http::router& routes, stats_sources sources) {
    auto src = std::make_shared<const stats_sources>(std::move(sources));
    routes.add(http::bhttp::verb::get, "/metrics", [src](const http::request& req) {
        return http::make_response(req, http::bhttp::status::ok, render_metrics(*src),
                                   "text/plain; version=0.0.4; charset=utf-8");
    });
    auto status_body = [src](bool ready_probe) {
        const auto phase = src->state->get();
        nlohmann::json body;
        const bool ok = !ready_probe || phase == health::phase::ready;
        body["status"] = ready_probe ? std::string(health::name(phase)) : std::string("up");
        body["phase"] = health::name(phase);
        body["version"] = src->version;
        body["uptime_seconds"] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - src->started).count();
        return std::pair{ok, body.dump()};
    };
    routes.add(http::bhttp::verb::get, "/live", [status_body](const http::request& req) {
        auto [ok, body] = status_body(false);
        return http::make_response(req, http::bhttp::status::ok, body + "\n", http::k_json);
    });
    routes.add(http::bhttp::verb::get, "/ready", [status_body](const http::request& req) {
        auto [ok, body] = status_body(true);
        return http::make_response(
            req, ok ? http::bhttp::status::ok : http::bhttp::status::service_unavailable,
            body + "\n", http::k_json);
    });
}

}  // namespace mg::telemetry
