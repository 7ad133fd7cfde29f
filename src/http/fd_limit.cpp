#include "http/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace mg::http {

fd_limits raise_fd_limit() {
    fd_limits out;
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
    constexpr rlim_t k_cap = rlim_t{1} << 20;
    const rlim_t target = lim.rlim_max == RLIM_INFINITY ? k_cap : std::min(lim.rlim_max, k_cap);
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < target) {
        rlimit raised = lim;
        raised.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            lim = raised;
            out.raised = true;
        }
    }
    out.soft = lim.rlim_cur == RLIM_INFINITY ? k_cap : lim.rlim_cur;
    out.hard = lim.rlim_max == RLIM_INFINITY ? k_cap : lim.rlim_max;
    return out;
}

}  // namespace mg::http
