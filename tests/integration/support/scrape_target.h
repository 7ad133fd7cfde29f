// scrape_target: a Prometheus scrape target on 127.0.0.1 (port from the OS) for end-to-end tests
// that have a real Prometheus scrape and remote-write through the daemon. GET /metrics answers
// the exposition text `page()` returns at that moment (a fixed page, or one that follows time).
// Served by a loopback_server (an I/O thread of its own, stopped and joined with it). Test code.
#pragma once

#include <functional>
#include <string>

#include "support/loopback_server.h"

namespace mg::test {

class scrape_target {
  public:
    // Throws std::runtime_error when it cannot listen.
    scrape_target(std::function<std::string()> page, std::string name);
    scrape_target(const scrape_target&) = delete;
    scrape_target& operator=(const scrape_target&) = delete;
    unsigned short port() const { return server_.port(); }

  private:
    loopback_server server_;
};

}  // namespace mg::test
