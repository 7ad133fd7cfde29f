// http_connection: one keep-alive HTTP/1.1 connection of the load generator, posting prepared
// bodies and reading the answers (Boost.Beast).
//
// Blocking from the caller's point of view, but every step runs as an asynchronous operation on
// the connection's own io_context (run by the calling thread until the step completes), because
// Beast's tcp_stream enforces timeouts (expires_after) only on asynchronous operations. One
// sender thread owns one connection; nothing is shared, so there are no locks.
//
// The body is written from the caller's buffer without a copy (span_body). The connection is
// opened lazily and reopened after a network error or a "Connection: close" answer. When a reused
// connection turns out to have been closed by the server while idle (the write fails, or the
// read ends before the first byte of an answer), the request is sent once more on a fresh
// connection: that is keep-alive housekeeping, not a retry; every other failure is final.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/connection.h"
#include "loadgen/options.h"

namespace mg::loadgen {

class http_connection final : public connection {
  public:
    http_connection(const http_target& target,
                    std::vector<boost::asio::ip::tcp::endpoint> endpoints,
                    std::chrono::nanoseconds timeout, wire_protocol protocol);
    ~http_connection() override;
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    post_outcome post(std::string_view body) override;
    std::uint64_t connections_opened() const override { return opened_; }

  private:
    boost::beast::error_code connect();
    void close();
    // Runs the io_context until the operation started by `start` completes; returns its error.
    template <typename Start>
    boost::beast::error_code run(Start&& start);

    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    boost::beast::http::request<boost::beast::http::span_body<const char>> req_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::chrono::nanoseconds timeout_;
    bool connected_ = false;
    std::uint64_t served_ = 0;  // answers on the current connection
    std::uint64_t opened_ = 0;
};

}  // namespace mg::loadgen
