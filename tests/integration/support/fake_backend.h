// fake_backend: a remote-write / OTLP receiver for integration tests, built on our own HTTP
// server on 127.0.0.1 port 0. It records every request and lets a test wait, without sleeping,
// until a condition over the recorded requests holds. Answers with a status the test sets, or
// with what a responder decides per request (status, Retry-After, a delay: a slow backend).
// Thread-safe: requests arrive on its own I/O thread while the test thread reads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/server.h"
#include "support/loopback_server.h"

namespace mg::test {

struct recorded_request {
    std::string target;
    std::string content_type;
    std::string content_encoding;
    std::string body;
    int status = 0;  // what the backend answered
    std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();  // when it arrived
    // Every header field as received (name lower-cased), repeats included, in order.
    std::vector<std::pair<std::string, std::string>> headers{};
    // The values of header `name` (any case), one per occurrence.
    std::vector<std::string> header(const std::string& name) const;
};

// How the fake answers one request.
struct fake_response {
    int status = 204;
    std::string retry_after;             // Retry-After header value; empty = none
    std::chrono::milliseconds delay{0};  // held before answering (blocks the fake's one thread)
};

// Decides the answer to a request; index counts requests from 0. Called under the fake's lock.
using fake_responder = std::function<fake_response(const recorded_request&, std::size_t index)>;

class fake_backend {
  public:
    fake_backend();
    ~fake_backend();
    unsigned short port() const { return server_->port(); }
    std::string url(const std::string& path = "/api/v1/write") const;
    void set_status(int status);
    void set_responder(fake_responder responder);
    // Waits until pred(requests) is true; false at the timeout.
    bool wait_until(const std::function<bool(const std::vector<recorded_request>&)>& pred,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
    std::vector<recorded_request> requests() const;

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<recorded_request> requests_;
    int status_ = 204;
    fake_responder responder_;
    std::unique_ptr<loopback_server> server_;  // last: stopped before what its handler uses
};

}  // namespace mg::test
