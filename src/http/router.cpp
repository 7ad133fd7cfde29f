#include "http/router.h"

#include <stdexcept>

#include "logging/log.h"

namespace mg::http {

void router::add(bhttp::verb method, std::string path, handler h) {
    auto& entry = paths_[std::move(path)];
    for (auto& [m, existing] : entry.methods) {
        if (m == method) throw std::logic_error("route registered twice");
    }
    entry.methods.emplace_back(method, std::move(h));
}

response router::route(const request& req) const {
    const auto path = target_path(req.target());
    const auto it = paths_.find(path);
    if (it == paths_.end()) {
        return make_response(req, bhttp::status::not_found, "404 page not found: no such path\n");
    }
    // HEAD is answered by the GET handler; the server sends the headers only.
    const auto wanted = req.method() == bhttp::verb::head ? bhttp::verb::get : req.method();
    for (const auto& [method, h] : it->second.methods) {
        if (method != wanted) continue;
        try {
            return h(req);
        } catch (const std::exception& e) {
            logging::error("request handler failed", {{"path", std::string(path)}, {"error", e.what()}});
            return make_response(req, bhttp::status::internal_server_error,
                                 "internal error while handling the request\n");
        }
    }
    std::string allow;
    for (const auto& [method, h] : it->second.methods) {
        if (!allow.empty()) allow += ", ";
        allow += std::string(bhttp::to_string(method));
    }
    auto res = make_response(req, bhttp::status::method_not_allowed,
                             "405 method not allowed; allowed: " + allow + "\n");
    res.set(bhttp::field::allow, allow);
    return res;
}

}  // namespace mg::http
