#include "http/router.h"

#include <catch2/catch.hpp>
#include <stdexcept>

namespace h = mg::http;
using h::bhttp::status;
using h::bhttp::verb;

namespace {
h::request make_request(verb method, std::string target) {
    h::request req{method, target, 11};
    req.keep_alive(true);
    return req;
}
}  // namespace

TEST_CASE("routes by exact path and method, ignoring the query", "[router]") {
    h::router r;
    r.add(verb::get, "/a",
          [](const h::request& req) { return h::make_response(req, status::ok, "A"); });
    r.add(verb::post, "/a",
          [](const h::request& req) { return h::make_response(req, status::created, "posted"); });
    CHECK(r.route(make_request(verb::get, "/a?x=1")).body() == "A");
    CHECK(r.route(make_request(verb::post, "/a")).result() == status::created);
    CHECK(r.route(make_request(verb::get, "/a/")).result() == status::not_found);
    CHECK(r.route(make_request(verb::get, "/b")).result() == status::not_found);
}

TEST_CASE("a known path with another method is 405 with Allow", "[router]") {
    h::router r;
    r.add(verb::get, "/m",
          [](const h::request& req) { return h::make_response(req, status::ok, ""); });
    r.add(verb::post, "/m",
          [](const h::request& req) { return h::make_response(req, status::ok, ""); });
    const auto res = r.route(make_request(verb::delete_, "/m"));
    CHECK(res.result() == status::method_not_allowed);
    CHECK(res[h::bhttp::field::allow] == "GET, POST");
}

TEST_CASE("HEAD is served by the GET handler", "[router]") {
    h::router r;
    r.add(verb::get, "/m",
          [](const h::request& req) { return h::make_response(req, status::ok, "body"); });
    CHECK(r.route(make_request(verb::head, "/m")).result() == status::ok);
}

TEST_CASE("a throwing handler becomes a 500, not a crash", "[router]") {
    h::router r;
    r.add(verb::get, "/boom",
          [](const h::request&) -> h::response { throw std::runtime_error("bug"); });
    CHECK(r.route(make_request(verb::get, "/boom")).result() == status::internal_server_error);
}

TEST_CASE("registering a route twice is a programming error", "[router]") {
    h::router r;
    r.add(verb::get, "/x",
          [](const h::request& req) { return h::make_response(req, status::ok, ""); });
    CHECK_THROWS(r.add(verb::get, "/x", [](const h::request& req) {
        return h::make_response(req, status::ok, "");
    }));
}

TEST_CASE("an async handler answers later, exactly once", "[router]") {
    h::router r;
    h::responder held;
    r.add_async(verb::get, "/later", [&held](h::request&& req, h::responder done) {
        CHECK(req.target() == "/later");  // the handler owns the request
        held = std::move(done);
    });
    int answers = 0;
    h::response got;
    r.dispatch(make_request(verb::get, "/later"), [&](h::response res) {
        ++answers;
        got = std::move(res);
    });
    CHECK(answers == 0);  // not yet
    REQUIRE(held);
    h::request original = make_request(verb::get, "/later");
    held(h::make_response(original, status::accepted, "later"));
    held(h::make_response(original, status::ok, "twice"));  // ignored
    CHECK(answers == 1);
    CHECK(got.result() == status::accepted);
    CHECK(got.body() == "later");
    // route() is for handlers that answer at once.
    CHECK_THROWS_AS(r.route(make_request(verb::get, "/later")), std::logic_error);
}

TEST_CASE("an async handler that throws before answering is a 500 - after answering, nothing more",
          "[router]") {
    h::router r;
    r.add_async(verb::get, "/boom",
                [](h::request&&, h::responder) { throw std::runtime_error("bug"); });
    r.add_async(verb::get, "/late-boom", [](h::request&& req, h::responder done) {
        done(h::make_response(req, status::ok, "fine"));
        throw std::runtime_error("bug after the answer");
    });
    std::vector<h::response> got;
    r.dispatch(make_request(verb::get, "/boom"),
               [&](h::response res) { got.push_back(std::move(res)); });
    r.dispatch(make_request(verb::get, "/late-boom"),
               [&](h::response res) { got.push_back(std::move(res)); });
    REQUIRE(got.size() == 2);
    CHECK(got[0].result() == status::internal_server_error);
    CHECK(got[1].result() == status::ok);
}
