// A scrape target for end-to-end tests (see scrape_target.h).
#include "support/scrape_target.h"

#include "http/router.h"
#include "http/types.h"

namespace mg::test {

namespace {

std::shared_ptr<http::router> page_route(std::function<std::string()> page) {
    auto routes = std::make_shared<http::router>();
    routes->add(http::bhttp::verb::get, "/metrics",
                [page = std::move(page)](const http::request& req) {
                    return http::make_response(req, http::bhttp::status::ok, page(),
                                               "text/plain; version=0.0.4");
                });
    return routes;
}

}  // namespace

scrape_target::scrape_target(std::function<std::string()> page, std::string name)
    : server_(http::server_options{.name = std::move(name)}, page_route(std::move(page))) {}

}  // namespace mg::test
