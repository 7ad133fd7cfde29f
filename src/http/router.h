// router: maps (method, exact path) to a handler. Unknown paths answer 404, a known path with
// another method answers 405 with an Allow header, and a handler that throws answers 500 (a bug,
// never a data problem: handlers report bad input with a 4xx themselves).
// Built once before the server starts, then only read: route() is safe from any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "http/types.h"

namespace mg::http {

class router {
public:
    void add(bhttp::verb method, std::string path, handler h);
    response route(const request& req) const;

private:
    struct path_entry {
        std::vector<std::pair<bhttp::verb, handler>> methods;
    };
    std::map<std::string, path_entry, std::less<>> paths_;
};

}  // namespace mg::http
