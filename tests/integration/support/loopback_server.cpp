// A test peer's HTTP server on loopback (see loopback_server.h).
#include "support/loopback_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <stdexcept>

namespace mg::test {

loopback_server::loopback_server(http::server_options options,
                                 std::shared_ptr<http::router> routes) {
    server_ = std::make_unique<http::server>(ioc_, std::move(options), std::move(routes));
    const auto bound = server_->listen("127.0.0.1", 0);
    if (!bound.ok()) throw std::runtime_error(bound.error_message());
    port_ = bound->port();
    thread_ = std::thread([this] {
        auto guard = boost::asio::make_work_guard(ioc_);
        ioc_.run();
    });
}

loopback_server::~loopback_server() {
    server_->shutdown();
    server_->wait_until_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    ioc_.stop();
    thread_.join();
}

}  // namespace mg::test
