// loopback_server: one of our own HTTP servers on 127.0.0.1 (port from the OS) with an I/O
// thread of its own, the base of the test peers that answer HTTP (fake_backend, scrape_target).
// The destructor stops it (listener closed, requests in flight given 5 s) and joins the thread:
// declare it after everything its handlers use, so it goes first. Test code.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>

#include "http/router.h"
#include "http/server.h"

namespace mg::test {

class loopback_server {
  public:
    // Throws std::runtime_error when it cannot listen.
    loopback_server(http::server_options options, std::shared_ptr<http::router> routes);
    ~loopback_server();
    loopback_server(const loopback_server&) = delete;
    loopback_server& operator=(const loopback_server&) = delete;
    unsigned short port() const { return port_; }

  private:
    boost::asio::io_context ioc_;
    std::unique_ptr<http::server> server_;
    std::thread thread_;
    unsigned short port_ = 0;
};

}  // namespace mg::test
