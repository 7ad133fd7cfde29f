#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "common/strings.h"

namespace mg::test {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;

http_client::http_client(const std::string& host, unsigned short port,
                         std::chrono::milliseconds timeout)
    : stream_(ioc_), host_(host), timeout_(timeout) {
    tcp::resolver resolver(ioc_);
    stream_.expires_after(timeout_);
    stream_.connect(resolver.resolve(host, std::to_string(port)));
}

http_reply http_client::read_reply(bool head) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);  // a response to HEAD announces a length but carries no body
    parser.body_limit(256 * 1024 * 1024);
    stream_.expires_after(timeout_);
    // A synchronous read on a tcp_stream honours expires_after only for async operations, so run
    // the async form to completion on our private io_context.
    beast::error_code ec;
    bhttp::async_read(stream_, buffer_, parser,
                      [&ec](beast::error_code e, std::size_t) { ec = e; });
    ioc_.restart();
    ioc_.run();
    if (ec) throw beast::system_error(ec);
    auto res = parser.release();
    http_reply out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.keep_alive = res.keep_alive();
    for (const auto& f : res) {
        out.headers[mg::lower(f.name_string())] = std::string(f.value());
    }
    return out;
}

http_reply http_client::request(bhttp::verb method, const std::string& target,
                                const std::string& body,
                                const std::map<std::string, std::string>& headers) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::user_agent, "mg-test");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    stream_.expires_after(timeout_);
    bhttp::async_write(stream_, req, [&ec](beast::error_code e, std::size_t) { ec = e; });
    ioc_.restart();
    ioc_.run();
    if (ec) throw beast::system_error(ec);
    return read_reply(method == bhttp::verb::head);
}

http_reply http_client::raw(const std::string& bytes) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    boost::asio::async_write(stream_, boost::asio::buffer(bytes),
                             [&ec](beast::error_code e, std::size_t) { ec = e; });
    ioc_.restart();
    ioc_.run();
    if (ec) throw beast::system_error(ec);
    return read_reply();
}

bool http_client::closed_by_peer() {
    char byte;
    beast::error_code ec;
    std::size_t n = 0;
    stream_.expires_after(timeout_);
    stream_.async_read_some(boost::asio::buffer(&byte, 1),
                            [&](beast::error_code e, std::size_t got) {
                                ec = e;
                                n = got;
                            });
    ioc_.restart();
    ioc_.run();
    return n == 0 && (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset);
}

http_reply http_get(unsigned short port, const std::string& target) {
    http_client c("127.0.0.1", port);
    return c.get(target);
}

}  // namespace mg::test
