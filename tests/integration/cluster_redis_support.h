// What the Redis tests of cluster mode share (cluster_redis_test.cpp, cluster_redis_tls_test.cpp,
// cluster_redis_cluster_test.cpp; the redis-server itself is support/redis_server.h): an io_context
// on its own thread as the daemon runs its Redis client, and a replica's view (a client and an
// admission store) with blocking helpers. Not thread-safe but where said; each object belongs to
// one test.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/admission_store.h"
#include "cluster/redis_cluster.h"
#include "cluster/redis_connection.h"
#include "support/peers.h"
#include "support/process.h"
#include "support/redis_server.h"

namespace mg::test {

// An io_context on its own thread, as the daemon's cluster client runs it.
class io_thread {
  public:
    io_thread();
    ~io_thread();
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;
    cluster::redis_client::strand strand() { return boost::asio::make_strand(ioc_); }

  private:
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
};

// Sends one command and waits for its answer (at most 10 s, else a failure saying so). The
// callback runs on the I/O thread: it only fulfils a promise (no test macros there). Thread-safe.
result<cluster::redis_reply> call(cluster::redis_client& c, std::string_view key,
                                  std::vector<std::string> args);
// Same, on one server (a cluster node, for the tests' own view of it).
inline result<cluster::redis_reply> call(cluster::redis_connection& c,
                                         std::vector<std::string> args) {
    return call(static_cast<cluster::redis_client&>(c), {}, std::move(args));
}

// Generous: these calls carry up to 10000 series, on a machine the other tests share (the
// timeout itself is tested with a paused Redis and its own setting).
cluster::admission_options test_options();

// A replica's view: its own client (one connection, or a Redis Cluster client) and store.
struct replica {
    replica(io_thread& io, unsigned short port, cluster::admission_options o = test_options());
    replica(io_thread& io, cluster::redis_connection_options co,
            cluster::admission_options o = test_options());
    replica(io_thread& io, cluster::redis_cluster_options co,
            cluster::admission_options o = test_options());
    ~replica() { client->close(); }
    replica(const replica&) = delete;
    replica& operator=(const replica&) = delete;

    // Thread-safe (the store and the client are).
    result<cluster::admit_reply> admit(
        const std::string& tracker, std::int64_t limit, const std::vector<std::uint64_t>& ids,
        std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
    // A command for any server (one Redis), or for the node serving `key`.
    result<cluster::redis_reply> raw(std::vector<std::string> args, std::string_view key = {}) {
        return call(*client, key, std::move(args));
    }

    std::shared_ptr<cluster::redis_client> client;
    std::shared_ptr<cluster::redis_cluster> cluster;  // set for a Redis Cluster client
    std::optional<cluster::admission_store> store;
};

// Identities spread like real ones (xxh3 output), not consecutive integers.
std::vector<std::uint64_t> ids(std::uint64_t from, std::uint64_t to);
std::size_t count(const cluster::admit_reply& r, cluster::admit_code c);

// A failed result's message (for INFO), or empty.
template <typename T>
std::string why(const result<T>& r) {
    return r ? std::string() : r.error_message();
}

}  // namespace mg::test
