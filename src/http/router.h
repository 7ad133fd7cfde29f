// router: maps (method, exact path) to a handler. Unknown paths answer 404, a known path with
// another method answers 405 with an Allow header, and a handler that throws answers 500 (a bug,
// never a data problem: handlers report bad input with a 4xx themselves).
// A handler may answer at once (handler) or later (async_handler): dispatch() hands the answer to
// a responder either way.
// Built once before the server starts, then only read: dispatch() and route() are safe from any
// thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/types.h"

namespace mg::http {

class router {
  public:
    void add(bhttp::verb method, std::string path, handler h);
    void add_async(bhttp::verb method, std::string path, async_handler h);
    // Answers through `done`, exactly once: at once for 404, 405, a handler that answers at once
    // and one that throws before answering (500); whenever an async handler answers otherwise.
    void dispatch(request&& req, responder done) const;
    // The answer of a route that answers at once (tests); an async route that has not answered
    // when its handler returns is a logic_error.
    response route(const request& req) const;

  private:
    struct path_entry {
        std::vector<std::pair<bhttp::verb, async_handler>> methods;
    };
    std::map<std::string, path_entry, std::less<>> paths_;
};

}  // namespace mg::http
