// ui_routes: the routes of the cardinality page on the stats listener: GET /ui (the page, its
// script and style, embedded at build time) and GET /api/v1/cardinality/history (the history
// ring as JSON, of one tenant's metrics with ?tenant=, with the dropped-series samples of one
// metric when -ui-show-dropped-samples is on). The page draws /api/v1/cardinality and the history;
// docs/api.md documents both answers. The listener's access control and TLS apply as to every route
// (cmd/metrics-governor decides which paths stay open). The sources are shared and thread-safe;
// handlers only read them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/router.h"
#include "ui/cardinality_history.h"
#include "ui/drop_samples.h"

namespace mg::ui {

struct ui_sources {
    std::shared_ptr<const cardinality_history> history;
    std::shared_ptr<const drop_samples> samples;  // null: -ui-show-dropped-samples is off
    std::uint64_t max_series = 0;                 // -limits-max-series; 0: none
    // ?tenant= naming it (or empty) is the default tenant (tenancy.default_tenant).
    std::string default_tenant_name = "default";
};

// The page's paths (the /ui document and its assets).
std::vector<std::string> ui_paths();

void add_ui_routes(http::router& routes, ui_sources sources);

}  // namespace mg::ui
