// Fake upstream backends for the exporter tests, on 127.0.0.1 with port 0 (or a given port).
//
// fake_backend: our own src/http server with a router, answering POST /api/v1/write and
// /v1/metrics through a test-supplied responder, recording every request.
// raw_backend: a small thread-per-connection Beast server, plain or TLS, that also counts the
// connections it accepted and lets the responder close a connection after any response
// (keep-alive tests), which the src/http server neither counts nor lets a handler decide.
// Both: wait_requests() blocks on a condition variable until n requests arrived or the timeout.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "http/types.h"

namespace mg::exporter::test {

// Answers request number n (0-based) of the backend.
using responder = std::function<http::response(const http::request&, std::size_t n)>;

http::response reply(const http::request& req, unsigned status, std::string body = {});
responder always(unsigned status);

class request_log {
  public:
    void add(const http::request& req);
    std::size_t count() const;
    std::vector<http::request> all() const;
    bool wait(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    std::vector<std::chrono::steady_clock::time_point> times() const;

  private:
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::vector<http::request> requests_;
    std::vector<std::chrono::steady_clock::time_point> times_;
};

class fake_backend {
  public:
    explicit fake_backend(responder r = always(204), std::uint16_t port = 0);
    ~fake_backend();
    std::uint16_t port() const { return port_; }
    std::string url(const std::string& path = "/api/v1/write") const;
    const request_log& log() const { return log_; }

  private:
    responder responder_;
    request_log log_;
    boost::asio::io_context ioc_;
    std::unique_ptr<http::server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

class raw_backend {
  public:
    // tls: a server context, or null for plain TCP.
    explicit raw_backend(std::shared_ptr<boost::asio::ssl::context> tls, responder r = always(204));
    ~raw_backend();
    std::uint16_t port() const { return port_; }
    std::size_t accepted() const { return accepted_.load(); }
    const request_log& log() const { return log_; }

  private:
    void accept_loop();
    void serve(std::shared_ptr<boost::asio::ip::tcp::socket> s);

    std::shared_ptr<boost::asio::ssl::context> tls_;
    responder responder_;
    request_log log_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> accepted_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mu_;
    std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
    std::vector<std::thread> threads_;
    std::thread accept_thread_;
};

// A self-signed certificate for 127.0.0.1 and localhost (CA:TRUE, so it is its own CA file),
// written as PEM files into a fresh temporary directory, removed on destruction.
struct self_signed_cert {
    self_signed_cert();
    ~self_signed_cert();
    std::string dir;
    std::string cert_file;
    std::string key_file;
};

std::shared_ptr<boost::asio::ssl::context> server_tls_context(const self_signed_cert& cert);

}  // namespace mg::exporter::test
