// cluster_options: what cluster mode is built from (cmd's wiring maps the configuration's
// `cluster:` section and the cardinality window into it). A plain value.
#pragma once

#include <string>
#include <vector>

#include "cluster/admission_store.h"
#include "cluster/redis_client_factory.h"
#include "limits/cluster_port.h"

namespace mg::cluster {

struct cluster_options {
    // Addresses (one server, or seeds of a Redis Cluster), password, db and TLS
    // (redis_client_factory.h).
    redis_client_options client;
    admission_options admission;
    limits::cluster_failure_policy policy = limits::cluster_failure_policy::local;
};

// The admission periods in Redis for a tracker window: two halves of it. Redis then holds each
// series' bits twice at most (the current and the previous period), about 3.9 bytes per series at
// the default 0.1% false positives per period (docs/cluster.md), and a series is forgotten
// between half a window and a window after it was last seen anywhere.
inline constexpr std::uint32_t k_redis_generations = 2;
inline constexpr double k_redis_fp_rate = 0.001;

}  // namespace mg::cluster
