#include "http/connection_counters.h"

namespace mg::http {

std::string_view close_reason_name(close_reason r) {
    switch (r) {
        case close_reason::read_timeout:
            return "read_timeout";
        case close_reason::write_timeout:
            return "write_timeout";
        case close_reason::idle_timeout:
            return "idle_timeout";
        case close_reason::header_too_large:
            return "header_too_large";
        case close_reason::body_too_large:
            return "body_too_large";
        case close_reason::malformed_request:
            return "malformed_request";
        case close_reason::max_connections:
            return "max_connections";
        case close_reason::inflight_bytes:
            return "inflight_bytes";
        case close_reason::evicted:
            return "evicted";
    }
    return "unknown";
}

}  // namespace mg::http
