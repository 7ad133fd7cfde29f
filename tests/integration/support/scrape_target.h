// scrape_target: a Prometheus scrape target on 127.0.0.1 (port from the OS) for end-to-end tests
// that have a real Prometheus scrape and remote-write through the daemon. GET /metrics answers
// the exposition text `page()` returns at that moment (a fixed page, or one that follows time).
// One I/O thread of its own; stopped and joined by the destructor. Test code.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "http/server.h"

namespace mg::test {

class scrape_target {
  public:
    // Throws std::runtime_error when it cannot listen.
    scrape_target(std::function<std::string()> page, std::string name);
    ~scrape_target();
    scrape_target(const scrape_target&) = delete;
    scrape_target& operator=(const scrape_target&) = delete;
    unsigned short port() const { return port_; }

  private:
    boost::asio::io_context ioc_;
    std::unique_ptr<mg::http::server> server_;
    std::thread thread_;
    unsigned short port_ = 0;
};

}  // namespace mg::test
