// fd_limit: the process's file descriptor limit, which bounds how many connections the listeners
// can hold. Every open connection is a descriptor; past the soft limit accept() fails (EMFILE) on
// every listener at once, the stats listener included, so the daemon raises the soft limit to the
// hard one at startup (as Go's runtime does) and warns when -receiver-max-connections cannot fit.
// Call from main before any listener opens; not thread-safe.
#pragma once

#include <cstdint>

namespace mg::http {

struct fd_limits {
    std::uint64_t soft = 0;  // after raising; 0 = unknown (getrlimit failed)
    std::uint64_t hard = 0;
    bool raised = false;
};

// Sets RLIMIT_NOFILE's soft limit to its hard limit (capped at 1 << 20: an "unlimited" hard limit
// must not become an absurd soft one). Returns the limits in effect afterwards.
fd_limits raise_fd_limit();

}  // namespace mg::http
