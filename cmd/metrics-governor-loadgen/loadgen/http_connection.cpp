#include "loadgen/http_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace mg::loadgen {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::uint64_t since_ns(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
}

// The server closed a kept-alive connection while it was idle: nothing of an answer came back.
bool stale_connection(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::eof;
}

}  // namespace

http_connection::http_connection(const http_target& target, std::vector<tcp::endpoint> endpoints,
                                 std::chrono::nanoseconds timeout, wire_protocol protocol)
    : stream_(ioc_), endpoints_(std::move(endpoints)), timeout_(timeout) {
    req_.method(bhttp::verb::post);
    req_.target(target.path);
    req_.version(11);
    const bool default_port = target.port == "80";
    const bool v6 = target.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + target.host + "]" : target.host;
    req_.set(bhttp::field::host, default_port ? host : host + ":" + target.port);
    req_.set(bhttp::field::user_agent, "metrics-governor-loadgen/0.1");
    req_.set(bhttp::field::content_type, content_type(protocol));
    if (!content_encoding(protocol).empty()) {
        req_.set(bhttp::field::content_encoding, content_encoding(protocol));
    }
    if (protocol == wire_protocol::prw) req_.set("X-Prometheus-Remote-Write-Version", "0.1.0");
    req_.keep_alive(true);
}

http_connection::~http_connection() {
    close();
}

template <typename Start>
beast::error_code http_connection::run(Start&& start) {
    beast::error_code result = asio::error::operation_aborted;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
}

beast::error_code http_connection::connect() {
    stream_.expires_after(timeout_);
    const auto ec =
        run([this](auto handler) { stream_.async_connect(endpoints_, std::move(handler)); });
    if (!ec) {
        connected_ = true;
        served_ = 0;
        ++opened_;
        stream_.socket().set_option(tcp::no_delay(true));
    }
    return ec;
}

void http_connection::close() {
    if (!connected_) return;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
}

post_outcome http_connection::post(std::string_view body) {
    req_.body() = bhttp::span_body<const char>::value_type(body.data(), body.size());
    req_.prepare_payload();
    post_outcome out;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!connected_) {
            if (const auto ec = connect()) {
                out.error = "connect: " + ec.message();
                return out;
            }
        }
        const bool reused = served_ > 0;
        const auto t0 = std::chrono::steady_clock::now();
        stream_.expires_after(timeout_);
        auto ec =
            run([this](auto handler) { bhttp::async_write(stream_, req_, std::move(handler)); });
        if (ec) {
            close();
            if (reused && stale_connection(ec)) continue;
            out.error = "write: " + ec.message();
            return out;
        }
        bhttp::response<bhttp::string_body> res;
        ec = run([this, &res](auto handler) {
            bhttp::async_read(stream_, buffer_, res, std::move(handler));
        });
        if (ec) {
            close();
            if (reused && ec == bhttp::error::end_of_stream) continue;
            out.error = "read: " + ec.message();
            return out;
        }
        out.latency_ns = since_ns(t0);
        out.status = static_cast<int>(res.result_int());
        ++served_;
        if (!res.keep_alive()) close();
        return out;
    }
    out.error = "connection closed by the server twice";
    return out;
}

}  // namespace mg::loadgen
