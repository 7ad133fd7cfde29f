// redis_cluster: a Redis Cluster client (cluster mode, docs/cluster.md). It keeps the cluster's
// slot map (CLUSTER SLOTS, read from any node or seed), one redis_connection per primary, and
// sends each command to the node serving its key's slot (key_slot: CRC16 of the key's hash tag,
// as the Redis Cluster specification defines it). The admission script's keys of one tracker
// share one hash tag, so each of its calls goes to one node.
//
// Redirections are followed, at most max_redirects per command: MOVED (the slot has a new owner)
// fixes that slot in the map at once, sends the command there and reads the whole map again (no
// more often than min_refresh_interval); ASK (the slot is being migrated and the keys are on the
// target) sends ASKING and the command to the target, once, without changing the map. TRYAGAIN
// (a multi-key command while its slot migrates: Redis refuses one whose keys are split between
// the nodes, or missing on the target) is retried after tryagain_delay, at most max_tryagain
// times. A broken connection fails the commands in flight on it (the callers have their deadline
// and failure policy) and reads the map again, as a failover moves slots.
//
// Until the first map is read, commands wait for it (at most max_waiting of them); when no node
// or seed answers, they fail with every address's reason. Connections to nodes that left the map
// are closed, failing what was in flight on them.
//
// Ownership: create() returns a shared_ptr; pending operations keep it alive; close(), or the
// last reference going, closes every connection. Thread-safety: command(), close() and stats()
// may be called from any thread. All state, the node connections included, lives on the one
// strand given to create(), and every callback runs on it (so a caller's strand-only state stays
// on one strand, as with one server).
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_connection.h"

namespace mg::cluster {

inline constexpr std::uint16_t k_cluster_slots = 16384;

// The slot of a key: CRC16 (XMODEM) of its hash tag (the part between the first '{' and the next
// '}', when not empty) or of the whole key, modulo 16384.
std::uint16_t key_slot(std::string_view key);

struct redis_cluster_options {
    std::vector<redis_address> seeds;  // any nodes of the cluster; one that answers is enough
    // Every node's connection settings but its host and port: password, TLS, timeouts, backoff.
    // db must be 0 (Redis Cluster has only database 0).
    redis_connection_options node;
    int max_redirects = 5;  // MOVED and ASK per command
    int max_tryagain = 5;
    std::chrono::milliseconds tryagain_delay{10};
    std::chrono::milliseconds min_refresh_interval{1000};  // between map reads caused by MOVED
    std::size_t max_waiting = 10000;  // commands held until the first map is read
};

// Counters since creation, for metrics and tests.
struct redis_cluster_stats {
    std::uint64_t moved = 0;
    std::uint64_t ask = 0;
    std::uint64_t tryagain = 0;
    std::uint64_t map_reads = 0;          // slot maps read and applied
    std::uint64_t map_read_failures = 0;  // every node and seed failed to give one
    std::uint64_t nodes = 0;              // primaries in the current map
};

class redis_cluster : public redis_client, public std::enable_shared_from_this<redis_cluster> {
  public:
    // Throws std::invalid_argument without seeds or with db != 0, std::runtime_error when the TLS
    // files cannot be loaded (see redis_connection_options::tls_context).
    static std::shared_ptr<redis_cluster> create(strand s, redis_cluster_options o);
    // Closes the connections (which would otherwise live on, reading).
    ~redis_cluster() override;
    redis_cluster(const redis_cluster&) = delete;
    redis_cluster& operator=(const redis_cluster&) = delete;

    void command(std::string_view key, std::vector<std::string> args, callback cb) override;
    void close() override;
    redis_cluster_stats stats() const;

  private:
    struct op;
    struct node {
        std::string address;  // host:port, the map's name for it
        redis_address where;
        std::shared_ptr<redis_connection> conn;
    };
    static constexpr std::uint16_t k_no_node = 0xffff;

    redis_cluster(strand s, redis_cluster_options o);
    void do_command(const std::shared_ptr<op>& p);
    void send(const std::shared_ptr<op>& p, std::uint16_t n, bool asking);
    // `from`: the address ("host:port") of the node that answered.
    void on_reply(const std::shared_ptr<op>& p, const std::string& from, result<redis_reply> r);
    bool redirect(const std::shared_ptr<op>& p, const std::string& from, const std::string& err);
    std::uint16_t node_for(const std::string& host, std::uint16_t port);
    std::shared_ptr<redis_connection> connect_to(const std::string& host, std::uint16_t port);
    void do_refresh(bool forced);
    void try_refresh(std::uint64_t id, std::size_t i);
    void on_refresh(std::uint64_t id, std::size_t i, const result<redis_reply>& r);
    bool apply_map(const redis_reply& r, const std::string& asked_host);
    void end_refresh(bool ok);

    strand strand_;
    redis_cluster_options o_;
    // Strand only from here (but the counters).
    std::vector<node> nodes_;                           // index = node number
    std::array<std::uint16_t, k_cluster_slots> slots_;  // slot -> node number, or k_no_node
    bool have_map_ = false;
    bool closed_ = false;
    std::deque<std::shared_ptr<op>> waiting_;  // for the first map
    // Seeds that are not nodes of the map, each with its own connection (and so its own backoff:
    // a cluster that cannot be reached is not asked again before that allows).
    std::map<std::string, std::shared_ptr<redis_connection>> seed_conns_;
    // The map read in progress: the addresses tried in turn, the one being tried, and why the
    // earlier ones failed. refresh_id_ makes the handlers of an abandoned attempt stale.
    std::uint64_t refresh_id_ = 0;
    bool refreshing_ = false;
    std::vector<redis_address> refresh_from_;
    std::string refresh_errors_;
    boost::asio::steady_timer refresh_timer_;
    std::chrono::steady_clock::time_point last_refresh_{};
    std::atomic<std::uint64_t> moved_{0}, ask_{0}, tryagain_{0}, map_reads_{0},
        map_read_failures_{0}, node_count_{0};
};

}  // namespace mg::cluster
