#include "http/router.h"

#include <atomic>
#include <optional>
#include <stdexcept>

#include "logging/log.h"

namespace mg::http {

void router::add(bhttp::verb method, std::string path, handler h) {
    add_async(method, std::move(path),
              [h = std::move(h)](request&& req, responder done) { done(h(req)); });
}

void router::add_async(bhttp::verb method, std::string path, async_handler h) {
    auto& entry = paths_[std::move(path)];
    for (auto& [m, existing] : entry.methods) {
        if (m == method) throw std::logic_error("route registered twice");
    }
    entry.methods.emplace_back(method, std::move(h));
}

void router::dispatch(request&& req, responder done) const {
    const auto path = std::string(target_path(req.target()));
    const auto it = paths_.find(path);
    if (it == paths_.end()) {
        return done(
            make_response(req, bhttp::status::not_found, "404 page not found: no such path\n"));
    }
    // HEAD is answered by the GET handler; the server sends the headers only.
    const auto wanted = req.method() == bhttp::verb::head ? bhttp::verb::get : req.method();
    for (const auto& [method, h] : it->second.methods) {
        if (method != wanted) continue;
        // The 500 for a handler that throws needs what the request was; the handler owns it.
        const unsigned version = req.version();
        const bool keep_alive = req.keep_alive();
        auto answered = std::make_shared<std::atomic<bool>>(false);
        responder once = [answered, done = std::move(done)](response res) {
            if (!answered->exchange(true)) done(std::move(res));
        };
        try {
            h(std::move(req), once);
        } catch (const std::exception& e) {
            logging::error("request handler failed", {{"path", path}, {"error", e.what()}});
            once(make_response(version, keep_alive, bhttp::status::internal_server_error,
                               "internal error while handling the request\n"));
        }
        return;
    }
    std::string allow;
    for (const auto& [method, h] : it->second.methods) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(bhttp::to_string(method));
    }
    auto res = make_response(req, bhttp::status::method_not_allowed,
                             "405 method not allowed; allowed: " + allow + "\n");
    res.set(bhttp::field::allow, allow);
    done(std::move(res));
}

response router::route(const request& req) const {
    std::optional<response> out;
    dispatch(request(req), [&out](response res) { out = std::move(res); });
    if (!out) throw std::logic_error("route(): the handler did not answer at once; use dispatch()");
    return std::move(*out);
}

}  // namespace mg::http
