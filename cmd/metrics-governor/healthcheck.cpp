#include "healthcheck.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <iostream>

#include "config/listen_address.h"

namespace mg::cmd {

namespace http = boost::beast::http;

int run_healthcheck(const std::string& stats_addr, std::chrono::milliseconds timeout) {
    const auto where = mg::config::parse_listen_address(stats_addr);
    if (!where.ok()) {
        std::cerr << "healthcheck: -stats-addr " << stats_addr << ": " << where.error_message()
                  << "\n";
        return 1;
    }
    std::string host = where->host;
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    // Asynchronous on a private io_context because beast::tcp_stream applies its deadline to
    // asynchronous operations only: a daemon that accepts and never answers must not hang the
    // health check. One deadline covers connect, write and read.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::resolver resolver(ioc);
    boost::beast::tcp_stream stream(ioc);
    http::request<http::empty_body> req{http::verb::get, "/live", 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "metrics-governor-healthcheck");
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    boost::system::error_code failure;
    const std::string where_text = host + ":" + std::to_string(where->port) + "/live";

    using error_code = boost::system::error_code;
    using tcp = boost::asio::ip::tcp;
    resolver.async_resolve(
        host, std::to_string(where->port),
        [&](error_code resolved, tcp::resolver::results_type endpoints) {
            if (resolved) return void(failure = resolved);
            stream.expires_after(timeout);
            stream.async_connect(endpoints, [&](error_code connected, const tcp::endpoint&) {
                if (connected) return void(failure = connected);
                http::async_write(stream, req, [&](error_code written, std::size_t) {
                    if (written) return void(failure = written);
                    http::async_read(stream, buffer, res,
                                     [&](error_code read, std::size_t) { failure = read; });
                });
            });
        });
    // The resolver has no deadline of its own; run_for bounds it (and everything else).
    if (ioc.run_for(timeout + std::chrono::seconds(1)); !ioc.stopped()) {
        std::cerr << "healthcheck: " << where_text << ": no answer within " << timeout.count()
                  << "ms\n";
        return 1;
    }
    if (failure) {
        std::cerr << "healthcheck: " << where_text << ": " << failure.message() << "\n";
        return 1;
    }
    if (res.result() != http::status::ok) {
        std::cerr << "healthcheck: " << where_text << " answered " << res.result_int() << ": "
                  << res.body() << "\n";
        return 1;
    }
    std::cout << res.body();
    if (!res.body().empty() && res.body().back() != '\n') std::cout << '\n';
    return 0;
}

}  // namespace mg::cmd
