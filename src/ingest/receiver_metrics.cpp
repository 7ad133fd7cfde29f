// The ingest counters (receiver_metrics.h).
#include "ingest/receiver_metrics.h"

namespace mg::ingest {

namespace {

std::string label_text(protocol_label p) {
    switch (p) {
        case protocol_label::remote_write_v1:
            return "remote_write_v1";
        case protocol_label::remote_write_v2:
            return "remote_write_v2";
        case protocol_label::otlp_protobuf:
            return "otlp_protobuf";
        case protocol_label::otlp_json:
            return "otlp_json";
        case protocol_label::otlp_grpc:
            return "otlp_grpc";
        case protocol_label::unknown:
            break;
    }
    return "unknown";
}

}  // namespace

protocol_label http_label(source_protocol p) {
    switch (p) {
        case source_protocol::remote_write_v1:
            return protocol_label::remote_write_v1;
        case source_protocol::remote_write_v2:
            return protocol_label::remote_write_v2;
        case source_protocol::otlp_protobuf:
            return protocol_label::otlp_protobuf;
        case source_protocol::otlp_json:
            return protocol_label::otlp_json;
        case source_protocol::none:
            break;
    }
    return protocol_label::unknown;
}

receiver_metrics::receiver_metrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("metrics_governor_requests_total")
                    .Help("Ingest requests by protocol and HTTP status code.")
                    .Register(registry)),
      received_(prometheus::BuildCounter()
                    .Name("metrics_governor_datapoints_received_total")
                    .Help("Data points in requests that were decoded, by protocol.")
                    .Register(registry)),
      series_received_(prometheus::BuildCounter()
                           .Name("metrics_governor_series_received_total")
                           .Help("Series in requests that were decoded, by protocol.")
                           .Register(registry)),
      refused_(prometheus::BuildCounter()
                   .Name("metrics_governor_datapoints_refused_total")
                   .Help("Kept data points of decoded requests the exporter could not take "
                         "(429 queue_full, 415 unsupported, 503 shutting_down); the sender "
                         "still holds them.")
                   .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("metrics_governor_requests_rejected_total")
                    .Help("Decoded ingest requests refused whole for what they carry, by protocol "
                          "and reason (bad_tenant: 400; missing_tenant: 401 without the tenant "
                          "header, 400 for a series without the tenant label).")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("metrics_governor_request_duration_seconds")
                    .Help("Time to handle an ingest request, by protocol.")
                    .Register(registry)) {}

void receiver_metrics::request(protocol_label p, std::string_view code, double seconds) {
    std::lock_guard lock(mu_);
    auto key = std::to_string(static_cast<int>(p)) + ":";
    key += code;
    auto [it, inserted] = requests_by_key_.try_emplace(key, nullptr);
    if (inserted) {
        it->second = &requests_.Add({{"protocol", label_text(p)}, {"code", std::string(code)}});
    }
    it->second->Increment();
    auto& h = histograms_[static_cast<std::size_t>(p)];
    if (h == nullptr) {
        h = &duration_.Add({{"protocol", label_text(p)}}, prometheus::Histogram::BucketBoundaries{
                                                              0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                              0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
    }
    h->Observe(seconds);
}

void receiver_metrics::received(protocol_label p, std::uint64_t series, std::uint64_t points) {
    std::lock_guard lock(mu_);
    auto& r = received_by_protocol_[static_cast<std::size_t>(p)];
    if (r == nullptr) r = &received_.Add({{"protocol", label_text(p)}});
    auto& s = series_by_protocol_[static_cast<std::size_t>(p)];
    if (s == nullptr) s = &series_received_.Add({{"protocol", label_text(p)}});
    r->Increment(static_cast<double>(points));
    s->Increment(static_cast<double>(series));
}

void receiver_metrics::refused(protocol_label p, std::string_view reason, std::uint64_t points) {
    std::lock_guard lock(mu_);
    refused_.Add({{"protocol", label_text(p)}, {"reason", std::string(reason)}})
        .Increment(static_cast<double>(points));
}

void receiver_metrics::rejected(protocol_label p, std::string_view reason) {
    std::lock_guard lock(mu_);
    rejected_.Add({{"protocol", label_text(p)}, {"reason", std::string(reason)}}).Increment();
}

}  // namespace mg::ingest
