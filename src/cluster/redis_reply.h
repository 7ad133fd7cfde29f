// redis_reply: one Redis reply as a value (converted from hiredis' redisReply, which hiredis
// frees), so callers never hold hiredis memory. Value type; not synchronized.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mg::cluster {

struct redis_reply {
    enum class kind : std::uint8_t { string, array, integer, nil, status, error };
    kind type = kind::nil;
    std::int64_t integer = 0;
    std::string str;  // string, status and error text
    std::vector<redis_reply> elements;

    bool is_error() const { return type == kind::error; }
};

}  // namespace mg::cluster
