// Cluster-wide admission through the Redis script (see admission_store.h).
#include "cluster/admission_store.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>

#include "cluster/admission_script.h"

namespace mg::cluster {

namespace asio = boost::asio;

namespace {

// splitmix64's finalizer: a second, independent hash of the identity for double hashing.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

constexpr std::uint64_t k_max_bits = (std::uint64_t{1} << 32) - 1;  // a Redis string holds 512 MB

}  // namespace

bloom_geometry geometry_for(std::uint64_t limit, double fp_rate) {
    if (limit == 0) return {};
    const double n = static_cast<double>(limit);
    const double p = std::clamp(fp_rate, 1e-9, 0.5);
    const double ln2 = std::log(2.0);
    const double m = std::ceil(-n * std::log(p) / (ln2 * ln2));
    bloom_geometry g;
    g.bits = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(m), 8, k_max_bits);
    g.k = static_cast<std::uint32_t>(
        std::clamp(std::lround(static_cast<double>(g.bits) / n * ln2), 1L, 16L));
    return g;
}

void bit_positions(std::uint64_t series_id, const bloom_geometry& g,
                   std::vector<std::uint64_t>& out) {
    const std::uint64_t h2 = mix(series_id) | 1;
    for (std::uint32_t j = 0; j < g.k; ++j) out.push_back((series_id + j * h2) % g.bits);
}

struct admission_store::call {
    explicit call(redis_client::strand& s) : timer(s) {}
    std::vector<std::string> keys_and_args;  // everything after EVALSHA <sha>
    // The key that routes the call (to the node serving the tracker's slot in a Redis Cluster).
    std::string_view route() const { return keys_and_args[1]; }
    std::size_t series = 0;
    callback cb;
    asio::steady_timer timer;
    bool done = false;

    void finish(result<admit_reply> r) {
        if (done) return;
        done = true;
        timer.cancel();
        cb(std::move(r));
    }
};

admission_store::admission_store(std::shared_ptr<redis_client> conn, redis_client::strand s,
                                 admission_options o)
    : conn_(std::move(conn)),
      strand_(std::move(s)),
      o_(std::move(o)),
      sha_(std::make_shared<std::string>()) {}

std::int64_t admission_store::period_ms() const {
    return std::max<std::int64_t>(1,
                                  o_.window.count() / std::max<std::uint32_t>(1, o_.generations));
}

std::int64_t admission_store::period_of(std::chrono::system_clock::time_point t) const {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms / period_ms();
}

std::string admission_store::bitmap_key(const std::string& tracker_key, std::int64_t period) const {
    return o_.key_prefix + "{" + tracker_key + "}:" + std::to_string(period);
}

void admission_store::admit(const std::string& tracker_key, std::int64_t limit,
                            std::span<const std::uint64_t> series_ids,
                            std::chrono::system_clock::time_point now, callback cb, bool enforce) {
    auto c = std::make_shared<call>(strand_);
    c->cb = std::move(cb);
    c->series = series_ids.size();
    const std::uint32_t gens = std::max<std::uint32_t>(1, o_.generations);
    const auto p = period_of(now);
    auto& a = c->keys_and_args;
    a.push_back(std::to_string(2 * gens));
    for (std::uint32_t g = 0; g < gens; ++g) a.push_back(bitmap_key(tracker_key, p - g));
    for (std::uint32_t g = 0; g < gens; ++g) a.push_back(bitmap_key(tracker_key, p - g) + ":n");
    // A period's keys are needed until it leaves the window; a second more for replicas whose
    // clocks are a little behind.
    const std::int64_t expire_at = (p + gens) * period_ms() + 1000;
    // No limit: the series are still recorded (for counts), in a bitmap sized as for 100k.
    const auto g = geometry_for(limit < 0 ? 100000 : static_cast<std::uint64_t>(limit), o_.fp_rate);
    a.push_back(std::to_string(gens));
    a.push_back(std::to_string(limit < 0 || !enforce ? -1 : limit));
    a.push_back(std::to_string(g.k));
    a.push_back(std::to_string(expire_at));
    a.push_back(std::to_string(g.bits));
    std::vector<std::uint64_t> bits;
    bits.reserve(series_ids.size() * g.k);
    for (const auto id : series_ids) bit_positions(id, g, bits);
    for (const auto b : bits) a.push_back(std::to_string(b));
    asio::post(strand_, [this, c] {
        c->timer.expires_after(o_.timeout);
        c->timer.async_wait([c](const boost::system::error_code& ec) {
            if (!ec) c->finish(make_error(std::string(k_timeout_message)));
        });
        run(c, false);
    });
}

void admission_store::run(const std::shared_ptr<call>& c, bool reloaded) {
    if (c->done) return;
    if (sha_->empty()) {
        conn_->command(
            c->route(), {"SCRIPT", "LOAD", std::string(k_admission_script)},
            [this, c, reloaded](result<redis_reply> r) {
                if (!r) return c->finish(make_error(r.error_message()));
                if (r->type != redis_reply::kind::string) {
                    return c->finish(make_error(std::string(k_error_prefix) +
                                                "refused the admission script: " + r->str));
                }
                *sha_ = r->str;
                run(c, reloaded);
            });
        return;
    }
    // After NOSCRIPT the script itself goes (EVAL), which Redis caches under the same SHA1: the
    // call is routed and redirected by its keys like EVALSHA, so in a Redis Cluster it reaches
    // the node that lacked the script even while the client's slot map is behind (a SCRIPT LOAD
    // has no key and would go by the map).
    std::vector<std::string> args{reloaded ? "EVAL" : "EVALSHA",
                                  reloaded ? std::string(k_admission_script) : *sha_};
    args.insert(args.end(), c->keys_and_args.begin(), c->keys_and_args.end());
    conn_->command(c->route(), std::move(args), [this, c, reloaded](result<redis_reply> r) {
        if (!r) return c->finish(make_error(r.error_message()));
        if (r->is_error()) {
            // A restarted or failed-over Redis, or a cluster node never asked before, lacks the
            // script: send it, once.
            if (!reloaded && r->str.rfind("NOSCRIPT", 0) == 0) return run(c, true);
            return c->finish(make_error("redis: " + r->str));
        }
        if (r->type != redis_reply::kind::array || r->elements.size() != c->series + 1) {
            return c->finish(make_error("redis: unexpected answer to the admission script"));
        }
        admit_reply out;
        out.codes.reserve(c->series);
        for (std::size_t i = 0; i < c->series; ++i) {
            const auto v = r->elements[i].integer;
            if (r->elements[i].type != redis_reply::kind::integer || v < 0 || v > 3) {
                return c->finish(make_error("redis: unexpected code from the admission script"));
            }
            out.codes.push_back(static_cast<admit_code>(v));
        }
        out.live_total = r->elements.back().integer;
        c->finish(std::move(out));
    });
}

}  // namespace mg::cluster
