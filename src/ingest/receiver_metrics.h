// receiver_metrics: the ingest counters and the request-duration histogram, and `answering`, which
// counts and times one request's answer. The protocol label is the batch's protocol, except that
// OTLP protobuf over gRPC is `otlp_grpc` (its `code` is then the gRPC status name, "OK",
// "INVALID_ARGUMENT"...; over HTTP the status number). Thread-safe: every I/O thread (and gRPC's
// threads) records at once (one mutex around the label lookups; the counters are atomic).
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

// The `protocol` label: the source protocols, plus OTLP protobuf received over gRPC.
enum class protocol_label : std::uint8_t {
    unknown,
    remote_write_v1,
    remote_write_v2,
    otlp_protobuf,
    otlp_json,
    otlp_grpc
};
inline constexpr std::size_t k_protocol_labels = 6;

// The label of a request received over HTTP.
protocol_label http_label(source_protocol p);

class receiver_metrics {
  public:
    explicit receiver_metrics(prometheus::Registry& registry);
    void request(protocol_label p, std::string_view code, double seconds);
    void request(source_protocol p, int code, double seconds) {
        request(http_label(p), std::to_string(code), seconds);
    }
    void received(protocol_label p, std::uint64_t series, std::uint64_t points);
    void refused(protocol_label p, std::string_view reason, std::uint64_t points);
    // A request refused whole for its content (bad_tenant, missing_tenant).
    void rejected(protocol_label p, std::string_view reason);

  private:
    std::mutex mu_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Counter>& received_;
    prometheus::Family<prometheus::Counter>& series_received_;
    prometheus::Family<prometheus::Counter>& refused_;
    prometheus::Family<prometheus::Counter>& rejected_;
    prometheus::Family<prometheus::Histogram>& duration_;
    std::unordered_map<std::string, prometheus::Counter*> requests_by_key_;
    std::array<prometheus::Counter*, k_protocol_labels> received_by_protocol_{};
    std::array<prometheus::Counter*, k_protocol_labels> series_by_protocol_{};
    std::array<prometheus::Histogram*, k_protocol_labels> histograms_{};
};

// Counts and times one request's answer (from its construction), under the protocol known by the
// time it answers. A value: the cluster path carries it to the thread that answers.
class answering {
  public:
    explicit answering(receiver_metrics& metrics) : metrics_(&metrics) {}
    http::response operator()(source_protocol proto, http::response res) const {
        metrics_->request(proto, static_cast<int>(res.result_int()), seconds());
        return res;
    }
    // An answer of another transport (gRPC): its label and code.
    void operator()(protocol_label label, std::string_view code) const {
        metrics_->request(label, code, seconds());
    }

  private:
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    }
    receiver_metrics* metrics_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace mg::ingest
