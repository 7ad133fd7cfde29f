// A scrape target for end-to-end tests (see scrape_target.h).
#include "support/scrape_target.h"

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <stdexcept>

#include "http/router.h"
#include "http/types.h"

namespace mg::test {

scrape_target::scrape_target(std::function<std::string()> page, std::string name) {
    auto routes = std::make_shared<mg::http::router>();
    routes->add(mg::http::bhttp::verb::get, "/metrics",
                [page = std::move(page)](const mg::http::request& req) {
                    return mg::http::make_response(req, mg::http::bhttp::status::ok, page(),
                                                   "text/plain; version=0.0.4");
                });
    server_ = std::make_unique<mg::http::server>(
        ioc_, mg::http::server_options{.name = std::move(name)}, routes);
    const auto bound = server_->listen("127.0.0.1", 0);
    if (!bound.ok()) throw std::runtime_error(bound.error_message());
    port_ = bound->port();
    thread_ = std::thread([this] {
        auto guard = boost::asio::make_work_guard(ioc_);
        ioc_.run();
    });
}

scrape_target::~scrape_target() {
    server_->shutdown();
    server_->wait_until_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    ioc_.stop();
    thread_.join();
}

}  // namespace mg::test
