// The HTTP server with a handler that answers later, from another thread (cluster mode answers
// after a round trip to Redis): the answer reaches the client, the connection reads nothing more
// until it is written, and keep-alive carries on after it.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "http/server.h"

namespace h = mg::http;
namespace asio = boost::asio;
using h::bhttp::status;
using h::bhttp::verb;
using namespace std::chrono_literals;

namespace {

// Requests the async route received, with their responders, for the test thread to answer.
struct pending {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<h::request, h::responder>> items;

    void add(h::request&& req, h::responder done) {
        {
            std::lock_guard lock(mu);
            items.emplace_back(std::move(req), std::move(done));
        }
        cv.notify_all();
    }
    std::pair<h::request, h::responder> take() {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, 10s, [&] { return !items.empty(); }));
        auto out = std::move(items.front());
        items.pop_front();
        return out;
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return items.size();
    }
};

struct running_server {
    asio::io_context ioc;
    std::unique_ptr<h::server> srv;
    std::thread thread;
    std::uint16_t port = 0;

    explicit running_server(std::shared_ptr<h::router> routes) {
        srv = std::make_unique<h::server>(ioc, h::server_options{}, routes);
        auto ep = srv->listen("127.0.0.1", 0);
        REQUIRE(ep);
        port = ep->port();
        thread = std::thread([this] { ioc.run(); });
    }
    ~running_server() {
        srv->shutdown();
        srv->wait_until_idle(std::chrono::steady_clock::now() + 5s);
        ioc.stop();
        thread.join();
    }
};

h::response exchange(asio::ip::tcp::socket& s, verb method, const std::string& target) {
    h::request req{method, target, 11};
    req.set(h::bhttp::field::host, "test");
    req.keep_alive(true);
    h::bhttp::write(s, req);
    boost::beast::flat_buffer buf;
    h::response res;
    if (method == verb::head) {
        h::bhttp::response_parser<h::bhttp::string_body> p;
        p.skip(true);  // a HEAD answer has no body, whatever Content-Length says
        h::bhttp::read(s, buf, p);
        return p.release();
    }
    h::bhttp::read(s, buf, res);
    return res;
}

}  // namespace

TEST_CASE(
    "server: an answer given later from another thread reaches the client, keep-alive goes on",
    "[http][async]") {
    pending later;
    auto routes = std::make_shared<h::router>();
    routes->add_async(verb::get, "/later", [&later](h::request&& req, h::responder done) {
        later.add(std::move(req), std::move(done));
    });
    routes->add(verb::get, "/now",
                [](const h::request& req) { return h::make_response(req, status::ok, "now"); });
    running_server server(routes);

    asio::io_context client_ioc;
    asio::ip::tcp::socket s(client_ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), server.port});
    auto answered =
        std::async(std::launch::async, [&] { return exchange(s, verb::get, "/later"); });
    auto [req, done] = later.take();
    CHECK(req.target() == "/later");
    CHECK(answered.wait_for(50ms) ==
          std::future_status::timeout);  // nothing until the handler answers
    std::thread([&req = req, done = done] {
        done(h::make_response(req, status::accepted, "decided elsewhere"));
    }).join();
    const auto res = answered.get();
    CHECK(res.result() == status::accepted);
    CHECK(res.body() == "decided elsewhere");
    CHECK(res.keep_alive());

    // The same connection serves the next request, at once or later, and HEAD gets headers only.
    CHECK(exchange(s, verb::get, "/now").body() == "now");
    auto head = std::async(std::launch::async, [&] { return exchange(s, verb::head, "/later"); });
    auto [head_req, head_done] = later.take();
    head_done(h::make_response(head_req, status::ok, "a body HEAD must not carry"));
    const auto head_res = head.get();
    CHECK(head_res.result() == status::ok);
    CHECK(head_res.body().empty());
    CHECK(later.size() == 0);
}
