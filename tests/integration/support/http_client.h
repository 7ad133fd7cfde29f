// A blocking HTTP/1.1 client for tests (Boost.Beast), on its own io_context.
// One connection per object, reused for keep-alive requests. Not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <string>

namespace mg::test {

struct http_reply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    bool keep_alive = false;
};

class http_client {
  public:
    http_client(const std::string& host, unsigned short port,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
    http_reply request(boost::beast::http::verb method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});
    http_reply get(const std::string& target) {
        return request(boost::beast::http::verb::get, target);
    }
    // Sends raw bytes and reads one response (for malformed-request tests).
    http_reply raw(const std::string& bytes);
    // True when the server closed the connection (a read returns EOF within the timeout).
    bool closed_by_peer();

  private:
    http_reply read_reply(bool head = false);
    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::string host_;
    std::chrono::milliseconds timeout_;
};

// One request on a fresh connection.
http_reply http_get(unsigned short port, const std::string& target);

}  // namespace mg::test
