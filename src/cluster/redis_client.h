// redis_client: what cluster mode's admission needs from Redis, whether it is one server
// (redis_connection.h) or a Redis Cluster (redis_cluster.h): send one command to the server that
// holds a key and get its reply. An interface, so the caller does not know which it has and
// tests can put a fake in its place.
//
// make_redis_client() (redis_client_factory.h) builds the right one from the configured
// addresses. The mode is explicit (redis_client_options::cluster), not detected: detection would
// cost a round trip before the first command and could not be done while Redis is down at
// startup, and a one-server client pointed at a Redis Cluster node fails visibly anyway (commands
// for the other nodes' slots get MOVED error replies).
//
// Threading: command() and close() may be called from any thread; every callback runs on the
// client's strand (the one given at creation), once per command, and must not block.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_reply.h"
#include "common/result.h"

namespace mg::cluster {

// One server's address (a Redis, or a Redis Cluster node or seed).
struct redis_address {
    std::string host;
    std::uint16_t port = 6379;
};

class redis_client {
  public:
    using strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    using callback = std::function<void(result<redis_reply>)>;

    virtual ~redis_client() = default;

    // Sends `args` to the server that holds `key` (in a Redis Cluster: the node serving its slot;
    // one server: that one; empty: any). `key` is read before command() returns. cb gets the
    // reply (an error reply is a reply) or a failure (no connection, connection lost).
    virtual void command(std::string_view key, std::vector<std::string> args, callback cb) = 0;
    // Fails everything pending; later commands fail at once.
    virtual void close() = 0;
};

}  // namespace mg::cluster
