// Request and response types shared by the HTTP server, its router and the handlers of other
// modules, plus small helpers to build answers. Value types; not synchronized.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mg::http {

namespace bhttp = boost::beast::http;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;
// Handlers run on an I/O thread: they must not block on disk or on another server.
using handler = std::function<response(const request&)>;
// A handler whose answer may come later (after a round trip to another server): it owns the
// request and calls the responder exactly once, from any thread, before or after it returns.
// The connection reads nothing more until then.
using responder = std::function<void(response)>;
using async_handler = std::function<void(request&&, responder)>;

inline constexpr std::string_view k_json = "application/json";
inline constexpr std::string_view k_text = "text/plain; charset=utf-8";

// A response to `req` with the same HTTP version and keep-alive choice.
response make_response(const request& req, bhttp::status status, std::string body,
                       std::string_view content_type = k_text);
// The same for a request already handed on (its version and keep-alive choice).
response make_response(unsigned version, bool keep_alive, bhttp::status status, std::string body,
                       std::string_view content_type = k_text);

// The path part of a request target ("/metrics?x=1" -> "/metrics").
std::string_view target_path(std::string_view target);
// Query parameters, percent-decoded; a repeated key keeps its first value.
std::map<std::string, std::string> query_params(std::string_view target);
// A query parameter that must be a positive integer (e.g. `limit`): `fallback` when absent, else
// its value, or nullopt when it is not one (positive_param_error() says so for a 400).
std::optional<std::size_t> positive_param(const std::map<std::string, std::string>& params,
                                          const std::string& name, std::size_t fallback);
std::string positive_param_error(const std::map<std::string, std::string>& params,
                                 const std::string& name);

}  // namespace mg::http
