// redis_client_factory: cluster mode's Redis client made from its settings: one redis_connection
// for one Redis, or a redis_cluster for a Redis Cluster (docs/cluster.md). The mode is the
// operator's choice (redis_client_options::cluster; why it is not detected: redis_client.h).
// Startup code; not synchronized.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_cluster.h"
#include "cluster/redis_connection.h"
#include "common/result.h"

namespace mg::cluster {

// "host:port", "[IPv6 address]:port", or a host alone (port 6379).
result<redis_address> parse_redis_address(std::string_view s);

struct redis_client_options {
    // One address: that Redis. With `cluster`: seeds, any nodes of the Redis Cluster.
    std::vector<std::string> addresses;
    bool cluster = false;
    // Password, db, TLS, timeouts, backoff; host and port come from `addresses`.
    redis_connection_options connection;
    redis_cluster_options cluster_options;  // its seeds and node settings come from the above
};

// Fails, with every problem found, on no address or a malformed one, more than one address
// without `cluster`, db other than 0 with `cluster`, or TLS files that cannot be loaded.
// Connects lazily: nothing is sent before the first command.
result<std::shared_ptr<redis_client>> make_redis_client(redis_client::strand s,
                                                        const redis_client_options& o);

}  // namespace mg::cluster
