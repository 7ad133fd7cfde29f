// receiver_metrics: the ingest counters and the request-duration histogram, and `answering`, which
// counts and times one request's answer. Thread-safe: every I/O thread records at once (one mutex
// around the label lookups; the counters themselves are atomic).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/types.h"
#include "protocol/series_batch.h"

namespace mg::ingest {

using protocol::source_protocol;

class receiver_metrics {
  public:
    explicit receiver_metrics(prometheus::Registry& registry);
    void request(source_protocol p, int code, double seconds);
    void received(source_protocol p, std::uint64_t series, std::uint64_t points);
    void refused(source_protocol p, std::string_view reason, std::uint64_t points);

  private:
    std::mutex mu_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Counter>& received_;
    prometheus::Family<prometheus::Counter>& series_received_;
    prometheus::Family<prometheus::Counter>& refused_;
    prometheus::Family<prometheus::Histogram>& duration_;
    std::unordered_map<std::string, prometheus::Counter*> requests_by_key_;
    std::array<prometheus::Counter*, 5> received_by_protocol_{};
    std::array<prometheus::Counter*, 5> series_by_protocol_{};
    std::array<prometheus::Histogram*, 5> histograms_{};
};

// Counts and times one request's answer (from its construction), under the protocol known by the
// time it answers. A value: the cluster path carries it to the thread that answers.
class answering {
  public:
    explicit answering(receiver_metrics& metrics) : metrics_(&metrics) {}
    http::response operator()(source_protocol proto, http::response res) const {
        metrics_->request(
            proto, static_cast<int>(res.result_int()),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
        return res;
    }

  private:
    receiver_metrics* metrics_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace mg::ingest
