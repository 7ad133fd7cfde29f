#include "ingest/receiver.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "cardinality/series_hash.h"
#include "common/strings.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"

namespace mg::ingest {

namespace bhttp = http::bhttp;
using protocol::source_protocol;

namespace {

std::string_view protocol_label(source_protocol p) {
    switch (p) {
        case source_protocol::remote_write_v1:
            return "remote_write_v1";
        case source_protocol::remote_write_v2:
            return "remote_write_v2";
        case source_protocol::otlp_protobuf:
            return "otlp_protobuf";
        case source_protocol::otlp_json:
            return "otlp_json";
        case source_protocol::none:
            break;
    }
    return "unknown";
}

// "application/x-protobuf;proto=io.prometheus.write.v2.Request" -> media type and proto param.
struct content_type {
    std::string media;
    std::string proto;
};

content_type parse_content_type(std::string_view header) {
    content_type ct;
    const auto semi = header.find(';');
    const auto trim = [](std::string_view s) { return mg::trim(s, k_http_whitespace); };
    ct.media = lower(trim(header.substr(0, semi)));
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!params.empty()) {
        const auto next = params.find(';');
        auto p = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
        const auto eq = p.find('=');
        if (eq == std::string_view::npos) continue;
        if (lower(trim(p.substr(0, eq))) == "proto") ct.proto = std::string(trim(p.substr(eq + 1)));
    }
    return ct;
}

http::response text_response(const http::request& req, bhttp::status status, std::string body) {
    if (!body.empty() && body.back() != '\n') body += '\n';
    return http::make_response(req, status, std::move(body));
}

// Per-thread buffers reused across requests.
struct scratch {
    std::string decompressed;
    protocol::series_batch batch;
    protocol::otlp_json_document json;
    std::vector<limits::series_ref> refs;
    std::vector<std::size_t> ref_index;  // batch index of each ref
    std::vector<limits::decision> decisions;
    std::vector<std::uint8_t> keep;
    std::vector<std::uint64_t> strip;
};

scratch& thread_scratch() {
    thread_local scratch s;
    return s;
}

}  // namespace

class receiver_metrics {
  public:
    explicit receiver_metrics(prometheus::Registry& registry)
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
          duration_(prometheus::BuildHistogram()
                        .Name("metrics_governor_request_duration_seconds")
                        .Help("Time to handle an ingest request, by protocol.")
                        .Register(registry)) {}

    void request(source_protocol p, int code, double seconds) {
        std::lock_guard lock(mu_);
        const auto key = std::to_string(static_cast<int>(p)) + ":" + std::to_string(code);
        auto [it, inserted] = requests_by_key_.try_emplace(key, nullptr);
        if (inserted) {
            it->second = &requests_.Add(
                {{"protocol", std::string(protocol_label(p))}, {"code", std::to_string(code)}});
        }
        it->second->Increment();
        auto& h = histograms_[static_cast<std::size_t>(p)];
        if (h == nullptr) {
            h = &duration_.Add(
                {{"protocol", std::string(protocol_label(p))}},
                prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05, 0.1, 0.25, 0.5, 1, 2.5});
        }
        h->Observe(seconds);
    }

    void received(source_protocol p, std::uint64_t series, std::uint64_t points) {
        std::lock_guard lock(mu_);
        auto& r = received_by_protocol_[static_cast<std::size_t>(p)];
        if (r == nullptr) r = &received_.Add({{"protocol", std::string(protocol_label(p))}});
        auto& s = series_by_protocol_[static_cast<std::size_t>(p)];
        if (s == nullptr) s = &series_received_.Add({{"protocol", std::string(protocol_label(p))}});
        r->Increment(static_cast<double>(points));
        s->Increment(static_cast<double>(series));
    }

    void refused(source_protocol p, std::string_view reason, std::uint64_t points) {
        std::lock_guard lock(mu_);
        refused_
            .Add({{"protocol", std::string(protocol_label(p))}, {"reason", std::string(reason)}})
            .Increment(static_cast<double>(points));
    }

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

namespace {

// Counts and times one request's answer, under the protocol known by the time it answers.
class answering {
  public:
    answering(receiver_metrics& metrics, const source_protocol& proto)
        : metrics_(metrics), proto_(proto) {}
    http::response operator()(http::response res) const {
        metrics_.request(
            proto_, static_cast<int>(res.result_int()),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
        return res;
    }

  private:
    receiver_metrics& metrics_;
    const source_protocol& proto_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace

receiver::receiver(receiver_options options, governor_port& governor, exporter_port& exporter,
                   prometheus::Registry& registry)
    : options_(options),
      governor_(governor),
      exporter_(exporter),
      metrics_(std::make_unique<receiver_metrics>(registry)) {}

receiver::~receiver() = default;

void receiver::add_routes(http::router& routes, bool otlp) {
    auto rw = [this](const http::request& req) { return handle_remote_write(req); };
    routes.add(bhttp::verb::post, "/api/v1/write", rw);
    routes.add(bhttp::verb::post, "/write", rw);
    if (otlp)
        routes.add(bhttp::verb::post, "/v1/metrics",
                   [this](const http::request& req) { return handle_otlp(req); });
}

namespace {

// What a decoded request turned into: the HTTP answer is built from it.
struct outcome {
    bhttp::status status = bhttp::status::ok;
    std::string message;  // error text for 4xx
    std::uint64_t kept_series = 0;
    std::uint64_t dropped_points = 0;
    std::uint64_t kept_samples = 0;
    std::uint64_t kept_histograms = 0;
    std::uint64_t kept_exemplars = 0;
    std::chrono::seconds retry_after{0};
    std::string_view refused_reason;   // why the exporter did not take the kept points
    std::uint64_t refused_points = 0;  // the points of a refused request that were not taken
    // Kept OTLP points the exporter cannot convert for a remote-write backend (reported to the
    // sender in partial_success along with the governor's drops).
    std::uint64_t unconverted_points = 0;
    std::string unconverted_message;
};

// The answer to a request the exporter could not take (429 with Retry-After, 415, 503).
http::response refusal(const http::request& req, const outcome& out) {
    auto res = text_response(req, out.status, out.message);
    if (out.retry_after.count() > 0)
        res.set(bhttp::field::retry_after, std::to_string(out.retry_after.count()));
    return res;
}

bhttp::status status_for(protocol::errc e) {
    return e == protocol::errc::too_large ? bhttp::status::payload_too_large
                                          : bhttp::status::bad_request;
}

}  // namespace

namespace {

// Fills `out` for an exporter answer other than accepted (429, 415, 503).
void refused_by_exporter(exporter::submit_status st, const exporter_port& exp,
                         protocol::source_protocol proto, outcome& out) {
    switch (st) {
        case exporter::submit_status::accepted:
        case exporter::submit_status::not_raw:
            break;
        case exporter::submit_status::queue_full:
            out.status = bhttp::status::too_many_requests;
            out.refused_reason = "queue_full";
            out.message = "export queue is full; retry later";
            out.retry_after = exp.retry_after_hint();
            break;
        case exporter::submit_status::unsupported: {
            out.status = bhttp::status::unsupported_media_type;
            out.refused_reason = "unsupported";
            const auto why = exp.check_source(proto);
            out.message =
                why.ok() ? "this input cannot be exported with the configured -exporter-protocol"
                         : why.error_message();
            break;
        }
        case exporter::submit_status::closed:
            out.status = bhttp::status::service_unavailable;
            out.refused_reason = "shutting_down";
            out.message = "shutting down";
            break;
    }
}

// Room reserved per request beyond its decoded size: the payload headers of a split over lanes.
constexpr std::uint64_t k_reservation_overhead = 64 * 1024;

}  // namespace

// Complexity limits, the governor, then the exporter, for a decoded batch. `decoded_bytes` is
// the size of the decoded body: the export room reserved before any series is admitted.
static outcome govern_and_export(const receiver_options& options, governor_port& governor,
                                 exporter_port& exp, scratch& s, const http::request& req,
                                 exporter::body_encoding raw_encoding,
                                 std::uint64_t decoded_bytes) {
    outcome out;
    const auto& batch = s.batch;
    // Refusals come before the governor, so a refused request admits no series: what the sender
    // retries is then decided as it was the first time, and the limit is never spent on data the
    // backend never got.
    if (auto why = exp.check_source(batch.protocol()); !why) {
        refused_by_exporter(exporter::submit_status::unsupported, exp, batch.protocol(), out);
        out.refused_points = batch.total_points();
        return out;
    }
    exporter::reservation room;
    if (const auto st = exp.reserve(decoded_bytes + k_reservation_overhead, room);
        st != exporter::submit_status::accepted) {
        refused_by_exporter(st, exp, batch.protocol(), out);
        out.refused_points = batch.total_points();
        return out;
    }
    const std::size_t n = batch.size();
    s.keep.assign(n, 0);
    s.strip.assign(n, 0);

    s.refs.clear();
    s.ref_index.clear();
    std::array<std::uint64_t, 7> rejected_series{}, rejected_points{};
    for (std::size_t i = 0; i < n; ++i) {
        const auto v = batch[i];
        limits::drop_reason reason = limits::drop_reason::none;
        if (v.labels.size() > options.max_labels_per_series) {
            reason = limits::drop_reason::too_many_labels;
        } else if (v.metric_name.size() > options.max_label_value_len) {
            reason = limits::drop_reason::label_value_too_long;
        } else {
            for (const auto& l : v.labels) {
                if (l.name.size() > options.max_label_name_len) {
                    reason = limits::drop_reason::label_name_too_long;
                    break;
                }
                if (l.value.size() > options.max_label_value_len) {
                    reason = limits::drop_reason::label_value_too_long;
                    break;
                }
            }
        }
        if (reason != limits::drop_reason::none) {
            ++rejected_series[static_cast<std::size_t>(reason)];
            rejected_points[static_cast<std::size_t>(reason)] += v.points();
            out.dropped_points += v.points();
            continue;
        }
        s.refs.push_back({v.metric_name, v.labels, v.points(), v.has_identity,
                          v.identity});  // views, not copies
        s.ref_index.push_back(i);
    }
    for (std::size_t r = 0; r < rejected_series.size(); ++r) {
        governor.note_rejected(static_cast<limits::drop_reason>(r), rejected_series[r],
                               rejected_points[r]);
    }

    s.decisions.resize(s.refs.size());
    governor.decide(s.refs, s.decisions);
    bool any_strip = false;
    for (std::size_t k = 0; k < s.refs.size(); ++k) {
        const auto i = s.ref_index[k];
        const auto& d = s.decisions[k];
        const auto v = batch[i];
        if (!d.keep) {
            out.dropped_points += v.points();
            continue;
        }
        s.keep[i] = 1;
        s.strip[i] = d.strip_mask;
        any_strip = any_strip || d.strip_mask != 0;
        ++out.kept_series;
        out.kept_samples += v.samples;
        out.kept_histograms += v.histograms;
        out.kept_exemplars += v.exemplars;
    }

    if (out.kept_series == 0) return out;  // nothing to forward; the drops are counted
    exporter::submit_details details;
    auto st = exporter::submit_status::not_raw;
    if (exp.can_forward_raw(batch, s.keep, s.strip)) {
        // Fast path: nothing changed, forward the sender's own bytes (not_raw: the shard count
        // grew meanwhile, so the series go to their lanes below).
        st = exp.submit_raw(std::string(req.body()), batch.protocol(), raw_encoding,
                            static_cast<std::uint32_t>(out.kept_series),
                            out.kept_samples + out.kept_histograms, &room);
    }
    if (st == exporter::submit_status::not_raw) {
        st = exp.submit(
            batch, s.keep,
            any_strip ? std::span<const std::uint64_t>(s.strip) : std::span<const std::uint64_t>(),
            details, &room);
    }
    if (st == exporter::submit_status::accepted) {
        out.unconverted_points = details.unconverted_points;
        out.unconverted_message = std::move(details.message);
    } else {
        refused_by_exporter(st, exp, batch.protocol(), out);
        out.refused_points = out.kept_samples + out.kept_histograms;
    }
    return out;
}

http::response receiver::handle_remote_write(const http::request& req) {
    auto& s = thread_scratch();
    source_protocol proto = source_protocol::none;
    answering answer(*metrics_, proto);

    const auto ct = parse_content_type(req[bhttp::field::content_type]);
    if (!ct.media.empty() && ct.media != "application/x-protobuf") {
        return answer(text_response(req, bhttp::status::unsupported_media_type,
                                    "unsupported Content-Type \"" +
                                        std::string(req[bhttp::field::content_type]) +
                                        "\"; remote write wants application/x-protobuf"));
    }
    if (ct.proto.empty() || ct.proto == "prometheus.WriteRequest") {
        proto = source_protocol::remote_write_v1;
    } else if (ct.proto == "io.prometheus.write.v2.Request") {
        proto = source_protocol::remote_write_v2;
    } else {
        return answer(text_response(
            req, bhttp::status::unsupported_media_type,
            "unsupported remote write message \"" + ct.proto +
                "\"; want prometheus.WriteRequest or io.prometheus.write.v2.Request"));
    }
    const auto encoding = lower(req[bhttp::field::content_encoding]);
    if (!encoding.empty() && encoding != "snappy") {
        return answer(text_response(
            req, bhttp::status::unsupported_media_type,
            "unsupported Content-Encoding \"" + encoding + "\"; remote write wants snappy"));
    }
    if (auto st = protocol::snappy_decode(req.body(), options_.max_body_size, s.decompressed);
        !st) {
        return answer(
            text_response(req, status_for(st.code()), st.error_message()));  // "snappy: ..."
    }
    const auto st = proto == source_protocol::remote_write_v1
                        ? protocol::decode_remote_write_v1(s.decompressed, s.batch)
                        : protocol::decode_remote_write_v2(s.decompressed, s.batch);
    if (!st) return answer(text_response(req, status_for(st.code()), st.error_message()));
    metrics_->received(proto, s.batch.size(), s.batch.total_points());

    auto out = govern_and_export(options_, governor_, exporter_, s, req,
                                 exporter::body_encoding::snappy, s.decompressed.size());
    if (out.status != bhttp::status::ok) {
        metrics_->refused(proto, out.refused_reason, out.refused_points);
        return answer(refusal(req, out));
    }
    auto res = http::make_response(req, bhttp::status::no_content, "");
    if (proto == source_protocol::remote_write_v2) {
        res.set("X-Prometheus-Remote-Write-Samples-Written", std::to_string(out.kept_samples));
        res.set("X-Prometheus-Remote-Write-Histograms-Written",
                std::to_string(out.kept_histograms));
        res.set("X-Prometheus-Remote-Write-Exemplars-Written", std::to_string(out.kept_exemplars));
    }
    return answer(std::move(res));
}

http::response receiver::handle_otlp(const http::request& req) {
    auto& s = thread_scratch();
    source_protocol proto = source_protocol::none;
    answering answer(*metrics_, proto);

    const auto ct = parse_content_type(req[bhttp::field::content_type]);
    if (ct.media == "application/x-protobuf") {
        proto = source_protocol::otlp_protobuf;
    } else if (ct.media == "application/json") {
        proto = source_protocol::otlp_json;
    } else {
        return answer(text_response(
            req, bhttp::status::unsupported_media_type,
            "unsupported Content-Type \"" + std::string(req[bhttp::field::content_type]) +
                "\"; OTLP/HTTP wants application/x-protobuf or application/json"));
    }
    const auto encoding = lower(req[bhttp::field::content_encoding]);
    std::string_view body = req.body();
    if (encoding == "gzip") {
        if (auto st = protocol::gzip_decode(body, options_.max_body_size, s.decompressed); !st) {
            return answer(
                text_response(req, status_for(st.code()), st.error_message()));  // "gzip: ..."
        }
        body = s.decompressed;
    } else if (!encoding.empty() && encoding != "identity") {
        return answer(
            text_response(req, bhttp::status::unsupported_media_type,
                          "unsupported Content-Encoding \"" + encoding + "\"; want gzip or none"));
    }
    const auto st =
        proto == source_protocol::otlp_protobuf
            ? protocol::decode_otlp_protobuf(body, s.batch)
            : protocol::decode_otlp_json(body, s.json, s.batch,
                                         protocol::otlp_json_limits{64, options_.max_body_size});
    if (!st) return answer(text_response(req, status_for(st.code()), st.error_message()));
    metrics_->received(proto, s.batch.size(), s.batch.total_points());

    const auto raw_encoding =
        encoding == "gzip" ? exporter::body_encoding::gzip : exporter::body_encoding::identity;
    auto out = govern_and_export(options_, governor_, exporter_, s, req, raw_encoding, body.size());
    if (out.status != bhttp::status::ok) {
        metrics_->refused(proto, out.refused_reason, out.refused_points);
        return answer(refusal(req, out));
    }
    std::string message = out.dropped_points == 0
                              ? std::string()
                              : std::to_string(out.dropped_points) +
                                    " data points dropped by metrics-governor limits";
    if (out.unconverted_points != 0) {
        message += (message.empty() ? "" : "; ") + std::to_string(out.unconverted_points) +
                   " data points cannot be converted to Prometheus remote write (first: " +
                   out.unconverted_message + ")";
    }
    const auto rejected = static_cast<std::int64_t>(out.dropped_points + out.unconverted_points);
    if (proto == source_protocol::otlp_json) {
        return answer(http::make_response(req, bhttp::status::ok,
                                          protocol::encode_otlp_response_json(rejected, message),
                                          http::k_json));
    }
    std::string pb;
    protocol::encode_otlp_response_protobuf(rejected, message, pb);
    return answer(
        http::make_response(req, bhttp::status::ok, std::move(pb), "application/x-protobuf"));
}

}  // namespace mg::ingest
