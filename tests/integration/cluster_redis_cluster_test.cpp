// Redis Cluster (src/cluster/redis_cluster.h) against a real one started by each test: three
// primaries of Debian's redis-server (--cluster-enabled) on reserved loopback ports, joined by
// `redis-cli --cluster create`. The limit test of one Redis passes on it with trackers on every
// node; slots are computed as the servers compute them; MOVED, ASK and TRYAGAIN are followed
// while a slot is migrated under a client whose slot map is stale.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/admission_store.h"
#include "cluster/redis_cluster.h"
#include "cluster_redis_support.h"
#include "shared/temp_dir.h"

namespace cl = mg::cluster;
using mg::test::call;
using mg::test::count;
using mg::test::ids;
using mg::test::io_thread;
using mg::test::redis_server;
using mg::test::replica;
using mg::test::test_options;
using mg::test::why;
using namespace std::chrono_literals;

namespace {

// Waits for `ok` to hold, asking again every 20 ms, for at most `limit`.
template <typename F>
bool wait_until(F ok, std::chrono::milliseconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!ok()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(20ms);  // between two looks at the condition
    }
    return true;
}

// Three primaries, no replicas, every slot assigned by redis-cli; the test's own connection to
// each node (for the cluster commands a test sends to one node).
class redis_cluster_peer {
  public:
    explicit redis_cluster_peer(io_thread& io) {
        const auto cli = mg::test::require_program("redis-cli", "redis-tools");
        std::vector<std::string> create{"--cluster", "create"};
        for (int i = 0; i < 3; ++i) {
            bus_.push_back(std::make_unique<mg::test::reserved_port>());
            nodes_.push_back(std::make_unique<redis_server>(std::vector<std::string>{
                "--cluster-enabled", "yes", "--cluster-port", std::to_string(bus_.back()->port()),
                "--cluster-config-file", dir_.file("nodes-" + std::to_string(i) + ".conf"), "--dir",
                dir_.path()}));
            cl::redis_connection_options co;
            co.port = nodes_.back()->port();
            conns_.push_back(cl::redis_connection::create(io.strand(), co));
            create.push_back("127.0.0.1:" + std::to_string(co.port));
        }
        create.push_back("--cluster-yes");
        mg::test::child_process joining(mg::test::peer_command(cli, create));
        const auto rc = joining.wait_exit(60s);
        if (rc != 0) FAIL("redis-cli --cluster create failed:\n" << joining.output());
        // redis-cli returns when the slots are assigned; every node must also know every other's.
        for (int i = 0; i < 3; ++i) {
            const bool ok = wait_until([&] {
                auto info = call(*conns_[i], {"CLUSTER", "INFO"});
                return info && info->str.find("cluster_state:ok") != std::string::npos;
            });
            if (!ok) FAIL("cluster state not ok on node " << i << ":\n" << nodes_[i]->output());
        }
        for (int i = 0; i < 3; ++i) {
            auto id = call(*conns_[i], {"CLUSTER", "MYID"});
            REQUIRE(id);
            ids_.push_back(id->str);
        }
    }
    ~redis_cluster_peer() {
        for (auto& c : conns_) c->close();
    }

    std::size_t size() const { return nodes_.size(); }
    unsigned short port(std::size_t i) const { return nodes_[i]->port(); }
    const std::string& id(std::size_t i) const { return ids_[i]; }
    cl::redis_connection& node(std::size_t i) { return *conns_[i]; }

    cl::redis_cluster_options client_options() const {
        cl::redis_cluster_options o;
        o.seeds.push_back({"127.0.0.1", port(0)});
        return o;
    }

    // The node serving `slot`, as node 0 sees it.
    std::size_t owner(std::uint16_t slot) {
        auto slots = call(*conns_[0], {"CLUSTER", "SLOTS"});
        REQUIRE(slots);
        for (const auto& e : slots->elements) {
            if (slot < e.elements[0].integer || slot > e.elements[1].integer) continue;
            for (std::size_t i = 0; i < size(); ++i) {
                if (port(i) == e.elements[2].elements[1].integer) return i;
            }
        }
        FAIL("no node serves slot " << slot);
        return 0;
    }

    // Moves `slot` from node `from` to node `to` in the specification's order: both ends marked,
    // the keys migrated, then every node told the new owner (the new one first).
    void begin_migration(std::uint16_t slot, std::size_t from, std::size_t to) {
        const auto s = std::to_string(slot);
        must(call(node(to), {"CLUSTER", "SETSLOT", s, "IMPORTING", id(from)}));
        must(call(node(from), {"CLUSTER", "SETSLOT", s, "MIGRATING", id(to)}));
    }
    void finish_migration(std::uint16_t slot, std::size_t from, std::size_t to) {
        const auto s = std::to_string(slot);
        auto keys = call(node(from), {"CLUSTER", "GETKEYSINSLOT", s, "1000"});
        REQUIRE(keys);
        if (!keys->elements.empty()) {
            std::vector<std::string> migrate{
                "MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0", "5000", "KEYS"};
            for (const auto& k : keys->elements) migrate.push_back(k.str);
            must(call(node(from), migrate));
        }
        must(call(node(to), {"CLUSTER", "SETSLOT", s, "NODE", id(to)}));
        must(call(node(from), {"CLUSTER", "SETSLOT", s, "NODE", id(to)}));
        for (std::size_t i = 0; i < size(); ++i) {
            if (i != to && i != from)
                must(call(node(i), {"CLUSTER", "SETSLOT", s, "NODE", id(to)}));
        }
    }

    static void must(const mg::result<cl::redis_reply>& r) {
        INFO(why(r) << (r ? r->str : std::string()));
        REQUIRE(r);
        REQUIRE_FALSE(r->is_error());
    }

  private:
    mg::test::temp_dir dir_;
    std::vector<std::unique_ptr<mg::test::reserved_port>> bus_;  // the nodes' cluster bus ports
    std::vector<std::unique_ptr<redis_server>> nodes_;
    std::vector<std::shared_ptr<cl::redis_connection>> conns_;
    std::vector<std::string> ids_;
};

// Tracker names whose keys live on each node, one per node.
std::vector<std::string> one_tracker_per_node(redis_cluster_peer& cluster,
                                              const cl::admission_store& store) {
    std::vector<std::string> out(cluster.size());
    std::set<std::size_t> found;
    for (int i = 0; found.size() < cluster.size() && i < 1000; ++i) {
        const auto name = "http_requests_total_" + std::to_string(i);
        const auto n = cluster.owner(cl::key_slot(store.bitmap_key(name, 0)));
        if (found.insert(n).second) out[n] = name;
    }
    REQUIRE(found.size() == cluster.size());
    return out;
}

}  // namespace

TEST_CASE("redis cluster: key slots are the servers' own", "[cluster][redis][redis-cluster]") {
    io_thread io;
    redis_cluster_peer cluster(io);
    std::vector<std::string> keys{"",           "foo",       "bar",  "{user1000}.following",
                                  "{}",         "{}x",       "a{}b", "{{a}}",
                                  "a{b}c{d}",   "}{x}",      "{",    "x}y{z",
                                  "mg:{m}:123", "mg:{m}:9:n"};
    for (int i = 0; i < 200; ++i) keys.push_back("key-" + std::to_string(i * 7919));
    keys.push_back(std::string("bin\0ary{\xff\x01}", 11));
    for (const auto& k : keys) {
        auto server = call(cluster.node(0), {"CLUSTER", "KEYSLOT", k});
        REQUIRE(server);
        INFO("key '" << k << "'");
        CHECK(cl::key_slot(k) == server->integer);
    }
    CHECK(cl::key_slot("{user1000}.following") == cl::key_slot("{user1000}.followers"));
}

TEST_CASE(
    "redis cluster: the limit is reached exactly with replicas admitting at once, trackers on "
    "every node",
    "[cluster][redis][redis-cluster]") {
    io_thread io;
    redis_cluster_peer cluster(io);
    constexpr int k_replicas = 6;
    std::vector<std::unique_ptr<replica>> rs;
    for (int i = 0; i < k_replicas; ++i) {
        rs.push_back(std::make_unique<replica>(io, cluster.client_options()));
    }
    const auto trackers = one_tracker_per_node(cluster, *rs[0]->store);
    // Every replica sees all 2000 series of every tracker, in batches of 100, at once.
    std::vector<std::future<std::map<std::string, std::size_t>>> runs;
    for (auto& r : rs) {
        runs.push_back(std::async(std::launch::async, [&r, &trackers] {
            std::map<std::string, std::size_t> admitted;
            for (std::uint64_t b = 0; b < 20; ++b) {
                for (const auto& t : trackers) {
                    auto reply = r->admit(t, 500, ids(b * 100, b * 100 + 100));
                    if (!reply) return std::map<std::string, std::size_t>{};
                    admitted[t] += count(*reply, cl::admit_code::admitted);
                }
            }
            return admitted;
        }));
    }
    std::map<std::string, std::size_t> admitted;
    for (auto& f : runs) {
        for (const auto& [t, n] : f.get()) admitted[t] += n;
    }
    for (const auto& t : trackers) {
        INFO(t);
        CHECK(admitted[t] == 500);  // one limit across replicas, on whichever node holds it
    }

    const auto all = ids(0, 2000);
    for (auto& r : rs) {
        for (const auto& t : trackers) {
            auto reply = r->admit(t, 500, all);
            INFO(t << " " << why(reply));
            REQUIRE(reply);
            const auto known = count(*reply, cl::admit_code::known);
            CHECK(known >= 500);
            CHECK(known <= 500 + 30);  // the filter's false positives, as with one Redis
            CHECK(reply->live_total == 500);
        }
        CHECK(r->cluster->stats().nodes == 3);
        CHECK(r->cluster->stats().moved == 0);
    }
    // Each node holds the keys of its tracker: the bitmap and count of the current period.
    for (std::size_t i = 0; i < cluster.size(); ++i) {
        auto keys = call(cluster.node(i), {"DBSIZE"});
        REQUIRE(keys);
        INFO("node " << i);
        CHECK(keys->integer >= 2);  // 4 if the test crossed into a new period
    }
}

TEST_CASE(
    "redis cluster: a slot migrated under a client with a stale map - ASK, TRYAGAIN and MOVED "
    "are followed",
    "[cluster][redis][redis-cluster]") {
    io_thread io;
    redis_cluster_peer cluster(io);
    auto co = cluster.client_options();
    co.max_tryagain = 1000;         // the migration below waits for a TRYAGAIN to be seen first
    co.min_refresh_interval = 0ms;  // a MOVED always reads the map again
    auto o = test_options();
    o.timeout = 20s;
    replica r(io, co, o);
    const auto t = std::chrono::system_clock::now();
    const std::string tracker = "migrated_metric";
    const auto slot = cl::key_slot(r.store->bitmap_key(tracker, 0));
    const auto from = cluster.owner(slot);
    const auto to = (from + 1) % cluster.size();
    auto first = r.admit(tracker, 100, ids(0, 50), t);
    INFO(why(first));
    REQUIRE(first);
    CHECK(count(*first, cl::admit_code::admitted) == 50);
    const auto reads = r.cluster->stats().map_reads;
    CHECK(reads == 1);

    cluster.begin_migration(slot, from, to);
    // A key the old owner does not have: ASK, and the command goes to the new owner after
    // ASKING (without it the new owner would answer MOVED back to the old).
    const std::string probe = "{" + tracker + "}:probe";
    auto set = r.raw({"SET", probe, "here"}, probe);
    INFO(why(set));
    REQUIRE(set);
    CHECK(set->str == "OK");
    CHECK(r.cluster->stats().ask >= 1);
    auto on_target = call(cluster.node(to), {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    REQUIRE(on_target);
    CHECK(on_target->integer == 1);

    // The tracker's keys are split between the nodes now (or missing on one): Redis refuses the
    // script with TRYAGAIN until the slot has moved; the call waits for it, retrying.
    auto pending =
        std::async(std::launch::async, [&] { return r.admit(tracker, 100, ids(0, 60), t); });
    REQUIRE(wait_until([&] { return r.cluster->stats().tryagain >= 1; }));
    cluster.finish_migration(slot, from, to);
    auto after = pending.get();
    INFO(why(after));
    REQUIRE(after);
    CHECK(count(*after, cl::admit_code::known) == 50);  // the migrated keys answered
    CHECK(count(*after, cl::admit_code::admitted) == 10);
    // The client's map still said the old owner: MOVED (here at the latest; the retried call may
    // have been sent between the two nodes' SETSLOT, answered by ASK then).
    auto get = r.raw({"GET", probe}, probe);
    REQUIRE(get);
    CHECK(get->str == "here");
    const auto s = r.cluster->stats();
    CHECK(s.moved >= 1);
    CHECK(s.map_reads >= reads + 1);

    // The map is right again: no more redirections.
    auto again = r.admit(tracker, 100, ids(0, 60), t);
    REQUIRE(again);
    CHECK(count(*again, cl::admit_code::known) == 60);
    CHECK(r.cluster->stats().moved == s.moved);
}

TEST_CASE("redis cluster: a one-server client pointed at a cluster node fails visibly",
          "[cluster][redis][redis-cluster]") {
    io_thread io;
    redis_cluster_peer cluster(io);
    replica single(io, cluster.port(0));
    // Trackers on every node: the ones of the other nodes are answered with MOVED.
    std::size_t failed = 0;
    for (const auto& t : one_tracker_per_node(cluster, *single.store)) {
        auto r = single.admit(t, 10, ids(0, 1));
        if (!r) {
            ++failed;
            CHECK(r.error_message().find("MOVED") != std::string::npos);
        }
    }
    CHECK(failed == 2);
}

TEST_CASE(
    "redis cluster: no reachable seed, or a seed that is no cluster node - commands fail saying "
    "why",
    "[cluster][redis][redis-cluster]") {
    mg::test::reserved_port a;
    mg::test::reserved_port b;
    io_thread io;
    cl::redis_cluster_options co;
    co.seeds = {{"127.0.0.1", a.port()}, {"127.0.0.1", b.port()}};
    replica r(io, co);
    auto failed = r.admit("m", 10, ids(0, 1));
    REQUIRE_FALSE(failed);
    INFO(failed.error_message());
    CHECK(failed.error_message().find("cannot read the slot map") != std::string::npos);
    CHECK(failed.error_message().find("127.0.0.1:" + std::to_string(a.port())) !=
          std::string::npos);
    CHECK(failed.error_message().find("127.0.0.1:" + std::to_string(b.port())) !=
          std::string::npos);
    CHECK(r.cluster->stats().map_read_failures == 1);

    // A Redis that is not a cluster node cannot give a map, and says why.
    redis_server single;
    cl::redis_cluster_options not_cluster;
    not_cluster.seeds = {{"127.0.0.1", single.port()}};
    replica wrong(io, not_cluster);
    auto refused = wrong.admit("m", 10, ids(0, 1));
    REQUIRE_FALSE(refused);
    INFO(refused.error_message());
    CHECK(refused.error_message().find("cluster support disabled") != std::string::npos);
}
