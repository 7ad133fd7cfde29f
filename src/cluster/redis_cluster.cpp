// The Redis Cluster client: slot map, routing, redirections (see redis_cluster.h).
#include "cluster/redis_cluster.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <stdexcept>

namespace mg::cluster {

namespace asio = boost::asio;

namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the Redis Cluster specification's
// key hash. Keys are short; a table would not pay for itself.
std::uint16_t crc16(std::string_view s) {
    std::uint16_t crc = 0;
    for (const unsigned char c : s) {
        crc ^= static_cast<std::uint16_t>(c << 8);
        for (int i = 0; i < 8; ++i) {
            crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                      : static_cast<std::uint16_t>(crc << 1);
        }
    }
    return crc;
}

std::string address_of(const std::string& host, std::uint16_t port) {
    return host + ":" + std::to_string(port);
}

// "<slot> <host>:<port>" after MOVED or ASK. The host may be empty (Redis 7: "the node you
// asked"); an IPv6 host comes without brackets, so the port is after the last ':'.
bool parse_redirect(std::string_view rest, std::uint16_t& slot, std::string& host,
                    std::uint16_t& port) {
    const auto sp = rest.find(' ');
    const auto colon = rest.rfind(':');
    if (sp == std::string_view::npos || colon == std::string_view::npos || colon < sp) return false;
    unsigned s = 0;
    unsigned p = 0;
    const auto slot_text = rest.substr(0, sp);
    const auto port_text = rest.substr(colon + 1);
    if (std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), s).ec !=
            std::errc{} ||
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), p).ec !=
            std::errc{} ||
        s >= k_cluster_slots || p == 0 || p > 65535) {
        return false;
    }
    slot = static_cast<std::uint16_t>(s);
    port = static_cast<std::uint16_t>(p);
    host.assign(rest.substr(sp + 1, colon - sp - 1));
    return true;
}

}  // namespace

std::uint16_t key_slot(std::string_view key) {
    const auto open = key.find('{');
    if (open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close != open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16(key) % k_cluster_slots;
}

struct redis_cluster::op {
    std::uint16_t slot = 0;
    bool any_node = false;  // no key: any node will do
    std::vector<std::string> args;
    callback cb;
    int redirects = 0;
    int tryagains = 0;
};

std::shared_ptr<redis_cluster> redis_cluster::create(strand s, redis_cluster_options o) {
    if (o.seeds.empty()) throw std::invalid_argument("redis cluster: no seed address");
    if (o.node.db != 0) {
        throw std::invalid_argument("redis cluster: db must be 0 (Redis Cluster has no other)");
    }
    if (o.node.tls.enabled && !o.node.tls_context) {
        auto ctx = make_redis_tls_context(o.node.tls);
        if (!ctx) throw std::runtime_error(ctx.error_message());
        o.node.tls_context = std::move(*ctx);  // loaded once, for every node
    }
    return std::shared_ptr<redis_cluster>(new redis_cluster(std::move(s), std::move(o)));
}

redis_cluster::redis_cluster(strand s, redis_cluster_options o)
    : strand_(std::move(s)), o_(std::move(o)), refresh_timer_(strand_) {
    slots_.fill(k_no_node);
}

redis_cluster::~redis_cluster() {
    // No handler of ours is running or pending (each holds a reference), so this is as good as
    // the strand.
    for (auto& n : nodes_) n.conn->close();
    for (auto& [address, conn] : seed_conns_) conn->close();
}

void redis_cluster::command(std::string_view key, std::vector<std::string> args, callback cb) {
    auto p = std::make_shared<op>();
    p->any_node = key.empty();
    p->slot = p->any_node ? 0 : key_slot(key);
    p->args = std::move(args);
    p->cb = std::move(cb);
    asio::post(strand_, [self = shared_from_this(), p] { self->do_command(p); });
}

void redis_cluster::close() {
    asio::post(strand_, [self = shared_from_this()] {
        self->closed_ = true;
        ++self->refresh_id_;
        self->refreshing_ = false;
        self->refresh_timer_.cancel();
        for (auto& n : self->nodes_) n.conn->close();
        for (auto& [address, conn] : self->seed_conns_) conn->close();
        auto waiting = std::move(self->waiting_);
        self->waiting_.clear();
        for (auto& p : waiting) p->cb(make_error("redis cluster client closed"));
    });
}

redis_cluster_stats redis_cluster::stats() const {
    redis_cluster_stats s;
    s.moved = moved_.load(std::memory_order_relaxed);
    s.ask = ask_.load(std::memory_order_relaxed);
    s.tryagain = tryagain_.load(std::memory_order_relaxed);
    s.map_reads = map_reads_.load(std::memory_order_relaxed);
    s.map_read_failures = map_read_failures_.load(std::memory_order_relaxed);
    s.nodes = node_count_.load(std::memory_order_relaxed);
    return s;
}

void redis_cluster::do_command(const std::shared_ptr<op>& p) {
    if (closed_) return p->cb(make_error("redis cluster client closed"));
    if (!have_map_) {
        if (waiting_.size() >= o_.max_waiting) {
            return p->cb(make_error("redis cluster: " + std::to_string(waiting_.size()) +
                                    " commands already wait for the slot map"));
        }
        waiting_.push_back(p);
        return do_refresh(true);
    }
    const std::uint16_t n = p->any_node ? (nodes_.empty() ? k_no_node : 0) : slots_[p->slot];
    if (n == k_no_node) {
        do_refresh(false);
        return p->cb(make_error("redis cluster: no node serves slot " + std::to_string(p->slot) +
                                " (the cluster's slots are not all assigned)"));
    }
    send(p, n, false);
}

void redis_cluster::send(const std::shared_ptr<op>& p, std::uint16_t n, bool asking) {
    auto& conn = *nodes_[n].conn;
    auto done = [self = shared_from_this(), p, from = nodes_[n].address](result<redis_reply> r) {
        self->on_reply(p, from, std::move(r));
    };
    // The arguments stay with the op: a redirection sends them again.
    if (asking) return conn.asking_command(p->args, std::move(done));
    conn.command(p->args, std::move(done));
}

void redis_cluster::on_reply(const std::shared_ptr<op>& p, const std::string& from,
                             result<redis_reply> r) {
    if (!r) {
        // A node that cannot be reached may have failed over: its slots have a new owner.
        if (!closed_) do_refresh(false);
        return p->cb(std::move(r));
    }
    if (r->is_error() && !closed_ && redirect(p, from, r->str)) return;
    p->cb(std::move(r));
}

bool redis_cluster::redirect(const std::shared_ptr<op>& p, const std::string& from,
                             const std::string& err) {
    const bool moved = err.rfind("MOVED ", 0) == 0;
    const bool ask = err.rfind("ASK ", 0) == 0;
    if (moved || ask) {
        std::uint16_t slot = 0;
        std::uint16_t port = 0;
        std::string host;
        if (!parse_redirect(std::string_view(err).substr(moved ? 6 : 4), slot, host, port)) {
            return false;  // passed on as the error reply it is
        }
        (moved ? moved_ : ask_).fetch_add(1, std::memory_order_relaxed);
        if (++p->redirects > o_.max_redirects) {
            p->cb(make_error("redis cluster: more than " + std::to_string(o_.max_redirects) +
                             " redirections for slot " + std::to_string(slot) + " (last: " + err +
                             ")"));
            return true;
        }
        if (host.empty()) host = from.substr(0, from.rfind(':'));
        const auto n = node_for(host, port);
        if (moved) {
            slots_[slot] = n;  // at once: the commands behind this one need not be redirected
            do_refresh(false);
        }
        send(p, n, ask);
        return true;
    }
    if (err.rfind("TRYAGAIN", 0) == 0) {
        tryagain_.fetch_add(1, std::memory_order_relaxed);
        if (++p->tryagains > o_.max_tryagain) return false;
        auto t = std::make_shared<asio::steady_timer>(strand_, o_.tryagain_delay);
        t->async_wait([self = shared_from_this(), p, t](const boost::system::error_code&) {
            self->do_command(p);
        });
        return true;
    }
    // CLUSTERDOWN and the like: the map may be what changed.
    if (err.rfind("CLUSTERDOWN", 0) == 0) do_refresh(false);
    return false;
}

std::shared_ptr<redis_connection> redis_cluster::connect_to(const std::string& host,
                                                            std::uint16_t port) {
    auto o = o_.node;
    o.host = host;
    o.port = port;
    return redis_connection::create(strand_, std::move(o));
}

std::uint16_t redis_cluster::node_for(const std::string& host, std::uint16_t port) {
    const auto address = address_of(host, port);
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].address == address) return static_cast<std::uint16_t>(i);
    }
    nodes_.push_back({address, {host, port}, connect_to(host, port)});
    return static_cast<std::uint16_t>(nodes_.size() - 1);
}

void redis_cluster::do_refresh(bool forced) {
    if (closed_ || refreshing_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!forced && now - last_refresh_ < o_.min_refresh_interval) return;
    refreshing_ = true;
    const auto id = ++refresh_id_;
    // The nodes of the current map first (they know it best), then the seeds.
    refresh_from_.clear();
    refresh_errors_.clear();
    for (const auto& n : nodes_) refresh_from_.push_back(n.where);
    for (const auto& s : o_.seeds) {
        const auto address = address_of(s.host, s.port);
        const bool known = std::any_of(nodes_.begin(), nodes_.end(),
                                       [&](const node& n) { return n.address == address; });
        if (!known) refresh_from_.push_back(s);
    }
    try_refresh(id, 0);
}

void redis_cluster::try_refresh(std::uint64_t id, std::size_t i) {
    if (i == refresh_from_.size()) return end_refresh(false);
    const auto& a = refresh_from_[i];
    const auto address = address_of(a.host, a.port);
    std::shared_ptr<redis_connection> conn;
    for (const auto& n : nodes_) {
        if (n.address == address) conn = n.conn;
    }
    if (!conn) {
        auto& c = seed_conns_[address];
        if (!c) c = connect_to(a.host, a.port);
        conn = c;
    }
    // A node that connects but does not answer (paused, overloaded) is skipped too.
    refresh_timer_.expires_after(2 * o_.node.connect_timeout);
    refresh_timer_.async_wait(
        [self = shared_from_this(), id, i](const boost::system::error_code& ec) {
            if (ec || id != self->refresh_id_) return;
            self->on_refresh(id, i, make_error("no answer to CLUSTER SLOTS in time"));
        });
    conn->command({"CLUSTER", "SLOTS"}, [self = shared_from_this(), id, i](result<redis_reply> r) {
        self->on_refresh(id, i, r);
    });
}

void redis_cluster::on_refresh(std::uint64_t id, std::size_t i, const result<redis_reply>& r) {
    // Stale: an abandoned read, or an attempt already given up on (its timer fired first).
    if (id != refresh_id_ || !refreshing_) return;
    const auto& a = refresh_from_[i];
    std::string why;
    if (!r) {
        why = r.error_message();
    } else if (r->is_error()) {
        why = r->str;
    } else if (!apply_map(*r, a.host)) {
        why = "unexpected answer to CLUSTER SLOTS";
    } else {
        return end_refresh(true);
    }
    refresh_errors_ +=
        (refresh_errors_.empty() ? "" : "; ") + address_of(a.host, a.port) + ": " + why;
    // The next attempt takes the id, so a late answer to this one is stale.
    const auto next = ++refresh_id_;
    try_refresh(next, i + 1);
}

bool redis_cluster::apply_map(const redis_reply& r, const std::string& asked_host) {
    struct range {
        std::uint16_t first, last;
        std::string host;
        std::uint16_t port;
    };
    if (r.type != redis_reply::kind::array) return false;
    std::vector<range> ranges;
    for (const auto& e : r.elements) {
        // [first slot, last slot, [host, port, id, ...] of the primary, then its replicas]
        if (e.type != redis_reply::kind::array || e.elements.size() < 3) return false;
        const auto& first = e.elements[0];
        const auto& last = e.elements[1];
        const auto& primary = e.elements[2];
        if (first.type != redis_reply::kind::integer || last.type != redis_reply::kind::integer ||
            first.integer < 0 || last.integer < first.integer || last.integer >= k_cluster_slots ||
            primary.type != redis_reply::kind::array || primary.elements.size() < 2 ||
            primary.elements[0].type != redis_reply::kind::string ||
            primary.elements[1].type != redis_reply::kind::integer ||
            primary.elements[1].integer <= 0 || primary.elements[1].integer > 65535) {
            return false;
        }
        std::string host = primary.elements[0].str;
        if (host == "?") continue;  // the node's address is not known yet: as if unassigned
        if (host.empty()) host = asked_host;  // Redis 7: "the node you asked"
        ranges.push_back({static_cast<std::uint16_t>(first.integer),
                          static_cast<std::uint16_t>(last.integer), std::move(host),
                          static_cast<std::uint16_t>(primary.elements[1].integer)});
    }
    // The new node list keeps the connections of the nodes still in the map; the others close.
    std::vector<node> old = std::move(nodes_);
    nodes_.clear();
    slots_.fill(k_no_node);
    for (const auto& g : ranges) {
        const auto address = address_of(g.host, g.port);
        std::uint16_t n = k_no_node;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].address == address) n = static_cast<std::uint16_t>(i);
        }
        if (n == k_no_node) {
            auto kept = std::find_if(old.begin(), old.end(),
                                     [&](const node& o) { return o.address == address; });
            std::shared_ptr<redis_connection> conn;
            if (kept != old.end()) {
                conn = std::move(kept->conn);
                old.erase(kept);
            } else if (auto s = seed_conns_.find(address); s != seed_conns_.end()) {
                conn = std::move(s->second);  // a seed that is a node: one connection to it
                seed_conns_.erase(s);
            } else {
                conn = connect_to(g.host, g.port);
            }
            nodes_.push_back({address, {g.host, g.port}, std::move(conn)});
            n = static_cast<std::uint16_t>(nodes_.size() - 1);
        }
        std::fill(slots_.begin() + g.first, slots_.begin() + g.last + 1, n);
    }
    for (auto& o : old) o.conn->close();
    node_count_.store(nodes_.size(), std::memory_order_relaxed);
    return true;
}

void redis_cluster::end_refresh(bool ok) {
    refreshing_ = false;
    ++refresh_id_;
    refresh_timer_.cancel();
    last_refresh_ = std::chrono::steady_clock::now();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    if (ok) {
        map_reads_.fetch_add(1, std::memory_order_relaxed);
        have_map_ = true;
        for (auto& p : waiting) do_command(p);
        return;
    }
    map_read_failures_.fetch_add(1, std::memory_order_relaxed);
    if (have_map_) return;  // the old map stays: better than none
    for (auto& p : waiting) {
        p->cb(make_error("redis cluster: cannot read the slot map from any node or seed: " +
                         refresh_errors_));
    }
}

}  // namespace mg::cluster
