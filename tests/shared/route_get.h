// A GET of `target` routed through an http::router in process, as the server would route it
// (HTTP/1.1, no headers): for the tests of the endpoints a module registers. Header only; the
// test links mg_http through its module.
#pragma once

#include <string>

#include "http/router.h"

namespace mg::test {

inline http::response route_get(const http::router& r, const std::string& target) {
    http::request req{http::bhttp::verb::get, target, 11};
    return r.route(req);
}

}  // namespace mg::test
