// admission_store: the cluster-wide admission decision for one tracker's new series, kept in
// Redis by the admission script (admission_script.h), so every replica enforces one limit
// (cluster mode, docs/cluster.md).
//
// A tracker is named by a key (its metric, or its metric and label for label limits) that
// becomes the Redis hash tag of all its keys: `<prefix>{<key>}:<period>` (Bloom bitmap) and
// `<prefix>{<key>}:<period>:n` (count). Periods are wall-clock aligned: window / generations long,
// numbered floor(unix time / period). The bitmap of each period is sized for the tracker's limit
// at the configured false-positive rate (at most `limit` series are ever admitted into one
// period), so Redis holds about generations x 1.2 bytes per series of the limit at 1%.
//
// admit() sends every series of one tracker in one EVALSHA (the bits are computed here from the
// series identity); the callback gets a code per series and the live total, or a failure: Redis
// unreachable, an error reply, or no answer by the deadline (the answer, if it comes later, is
// ignored). The caller's failure policy decides then.
//
// Redis is a redis_client (redis_client.h): one server (a redis_connection) or a Redis Cluster
// (redis_cluster.h), which sends each call to the node serving the tracker's hash tag. The SHA1
// is the same everywhere; a node without the script answers NOSCRIPT and that call sends the
// script itself (EVAL, routed by the same keys), which loads it there.
//
// Thread-safety: admit() may be called from any thread; callbacks run on the client's strand,
// which must be the strand given here (the SHA1 and the deadlines live on it).
// Ownership: holds the client (shared); the script's SHA1 is learned once (SCRIPT LOAD).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_client.h"
#include "common/result.h"

namespace mg::cluster {

enum class admit_code : std::uint8_t { known = 0, refreshed = 1, admitted = 2, over_limit = 3 };

struct admit_reply {
    std::vector<admit_code> codes;  // one per series, in the order given
    std::int64_t live_total = 0;    // the tracker's distinct live series after the call
};

struct admission_options {
    std::string key_prefix = "mg:";
    std::chrono::milliseconds window{std::chrono::hours(1)};
    std::uint32_t generations = 3;
    double fp_rate = 0.01;  // per period bitmap
    std::chrono::milliseconds timeout{50};
};

// The bitmap size and hash count of a tracker with this limit (limit 0: one bit, k 1).
struct bloom_geometry {
    std::uint64_t bits = 1;
    std::uint32_t k = 1;
};
bloom_geometry geometry_for(std::uint64_t limit, double fp_rate);

// The k bit positions of one series (double hashing of its 64-bit identity), appended to `out`.
void bit_positions(std::uint64_t series_id, const bloom_geometry& g,
                   std::vector<std::uint64_t>& out);

class admission_store {
  public:
    using callback = std::function<void(result<admit_reply>)>;

    // `s`: the strand `client` calls back on (the one it was created with).
    admission_store(std::shared_ptr<redis_client> client, redis_client::strand s,
                    admission_options o);

    // limit < 0: no limit (the series are recorded, never refused). `now` is wall time: it picks
    // the period. enforce false: record every series without refusing any, in the filter sized for
    // `limit` (write-back of series admitted while Redis did not answer).
    void admit(const std::string& tracker_key, std::int64_t limit,
               std::span<const std::uint64_t> series_ids, std::chrono::system_clock::time_point now,
               callback cb, bool enforce = true);

    // The failure messages of admit(), for callers that count failures by kind: the timeout,
    // Redis's own refusals (error replies, unexpected answers) under the prefix, and the
    // connection's failures (unreachable) as they come.
    static constexpr std::string_view k_timeout_message = "redis did not answer within the timeout";
    static constexpr std::string_view k_error_prefix = "redis: ";

    // The Redis key of one period's bitmap (for tests and docs).
    std::string bitmap_key(const std::string& tracker_key, std::int64_t period) const;
    std::int64_t period_of(std::chrono::system_clock::time_point t) const;

  private:
    struct call;
    std::int64_t period_ms() const;  // window / generations, at least 1
    void run(const std::shared_ptr<call>& c, bool reloaded);

    std::shared_ptr<redis_client> conn_;
    redis_client::strand strand_;
    admission_options o_;
    std::shared_ptr<std::string> sha_;  // strand only; empty until SCRIPT LOAD answered
};

}  // namespace mg::cluster
