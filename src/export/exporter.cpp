#include "export/exporter.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <deque>
#include <exception>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/strings.h"
#include "export/disk_queue.h"
#include "export/endpoint.h"
#include "export/http_client.h"
#include "export/payload.h"
#include "export/queue.h"
#include "export/shard_scaler.h"
#include "export/shard_split.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/otlp_to_prw.h"
#include "protocol/remote_write.h"

namespace mg::exporter {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using protocol::source_protocol;

namespace {

constexpr std::size_t k_logged_body = 512;  // of a backend's error response
constexpr auto k_max_retry_after = std::chrono::minutes(10);
constexpr std::string_view k_user_agent = "metrics-governor/0.1";

bool is_otlp(source_protocol p) {
    return p == source_protocol::otlp_protobuf || p == source_protocol::otlp_json;
}

// Scratch buffers of the OTLP -> remote write conversion, one set per ingest thread.
protocol::otlp_to_prw_converter& thread_converter() {
    thread_local protocol::otlp_to_prw_converter c;
    return c;
}

// The lanes of a request's kept series, one per ingest thread.
lane_split& thread_split() {
    thread_local lane_split s;
    return s;
}


// How often the batcher reconsiders the shard count: often enough that a backlog building behind
// a distant backend is answered before it is large (what waits behind a reshard's barrier drains
// through the old lanes).
constexpr auto k_scaler_tick = std::chrono::milliseconds(100);

// Adds one conversion's counts to a request's total (a request split over lanes converts once
// per lane).
void add_conversion(protocol::prw_conversion_result& total, protocol::prw_conversion_result&& part) {
    total.series += part.series;
    total.samples += part.samples;
    total.histograms += part.histograms;
    total.points_converted += part.points_converted;
    for (std::size_t i = 0; i < total.dropped.size(); ++i) total.dropped[i] += part.dropped[i];
    if (total.first_drop.empty()) total.first_drop = std::move(part.first_drop);
}

std::string truncate(std::string_view s, std::size_t n) {
    if (s.size() <= n) return std::string(s);
    return std::string(s.substr(0, n)) + "...(truncated)";
}

std::int64_t ms(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The bytes a reservation still holds, as the impl sees them.
struct reservation_state {
    std::uint64_t bytes = 0;
};

}  // namespace

std::string_view to_string(submit_status s) {
    switch (s) {
        case submit_status::accepted:
            return "accepted";
        case submit_status::queue_full:
            return "queue_full";
        case submit_status::unsupported:
            return "unsupported";
        case submit_status::closed:
            return "closed";
        case submit_status::not_raw:
            return "not_raw";
    }
    return "unknown";
}

// The exporter's state. Members below "strand only" are touched only by handlers on strand_.
class exporter::impl {
  public:
    impl(const exporter_options& cfg, prometheus::Registry& registry, exporter_deps deps)
        : cfg_(cfg),
          qcfg_(cfg.queue),
          observe_only_(cfg.endpoint.empty()),
          otlp_(cfg.protocol == "otlp"),
          clock_(deps.clock != nullptr ? *deps.clock : system_clock_instance()),
          file_system_(deps.file_system != nullptr ? *deps.file_system : posix_file_system()),
          backoff_(cfg.retry_backoff_base, cfg.retry_backoff_max, std::move(deps.random)),
          // The real clock, not deps.clock: the batcher's ticks and drain()'s deadline are
          // steady_clock times, and the retry timers are Asio's.
          queue_(system_clock_instance(), cfg.queue.max_bytes, static_cast<std::uint32_t>(std::max(1, cfg.max_shards)),
                 static_cast<std::uint32_t>(std::max(1, cfg.min_shards))),
          scaler_({.min_shards = static_cast<std::uint32_t>(std::max(1, cfg.min_shards)),
                   .max_shards = static_cast<std::uint32_t>(std::max(1, cfg.max_shards))}),
          io_threads_count_(std::max(1U, deps.io_threads)),
          strand_(asio::make_strand(ioc_)),
          sent_points_(prometheus::BuildCounter()
                           .Name("metrics_governor_datapoints_sent_total")
                           .Help("Data points delivered to the backend (2xx).")
                           .Register(registry)
                           .Add({})),
          sent_series_(prometheus::BuildCounter()
                           .Name("metrics_governor_export_series_sent_total")
                           .Help("Series (OTLP: data points) delivered to the backend (2xx).")
                           .Register(registry)
                           .Add({})),
          requests_(prometheus::BuildCounter()
                        .Name("metrics_governor_export_requests_total")
                        .Help("Upstream requests by HTTP status code of the response.")
                        .Register(registry)),
          errors_(prometheus::BuildCounter()
                      .Name("metrics_governor_export_errors_total")
                      .Help("Failed upstream requests by reason (connect, timeout, tls, "
                            "network, resolve, http_429, http_5xx, http_4xx, http_413, encode, "
                            "disk).")
                      .Register(registry)),
          retries_(prometheus::BuildCounter()
                       .Name("metrics_governor_export_retries_total")
                       .Help("Upstream requests scheduled again after a retryable failure.")
                       .Register(registry)
                       .Add({})),
          dropped_series_(prometheus::BuildCounter()
                              .Name("metrics_governor_export_dropped_series_total")
                              .Help("Accepted series the exporter gave up on, by reason "
                                    "(rejected, too_large, retries_exhausted, shutdown).")
                              .Register(registry)),
          dropped_points_(prometheus::BuildCounter()
                              .Name("metrics_governor_export_dropped_datapoints_total")
                              .Help("Accepted data points the exporter gave up on, by reason.")
                              .Register(registry)),
          queue_full_(prometheus::BuildCounter()
                          .Name("metrics_governor_export_queue_full_total")
                          .Help("Submissions refused because the export queue was full (429).")
                          .Register(registry)
                          .Add({})),
          discarded_points_(prometheus::BuildCounter()
                                .Name("metrics_governor_export_discarded_datapoints_total")
                                .Help("Data points discarded in observe-only mode (no "
                                      "-exporter-endpoint).")
                                .Register(registry)
                                .Add({})),
          queue_bytes_(prometheus::BuildGauge()
                           .Name("metrics_governor_queue_bytes")
                           .Help("Bytes of accepted export data not yet delivered (queued and "
                                 "in flight).")
                           .Register(registry)
                           .Add({})),
          queue_points_(prometheus::BuildGauge()
                            .Name("metrics_governor_queue_datapoints")
                            .Help("Data points accepted for export and not yet delivered or "
                                  "given up on (queued, in flight, or on disk).")
                            .Register(registry)
                            .Add({})),
          queue_max_bytes_(prometheus::BuildGauge()
                               .Name("metrics_governor_queue_max_bytes")
                               .Help("The export queue's byte budget (-queue-max-bytes).")
                               .Register(registry)
                               .Add({})),
          disk_bytes_(prometheus::BuildGauge()
                          .Name("metrics_governor_queue_disk_bytes")
                          .Help("Bytes of the disk queue's segment files (-queue-path).")
                          .Register(registry)
                          .Add({})),
          disk_max_bytes_(prometheus::BuildGauge()
                              .Name("metrics_governor_queue_disk_max_bytes")
                              .Help("The disk queue's byte budget (-queue-max-disk-bytes); 0 "
                                    "without a disk queue.")
                              .Register(registry)
                              .Add({})),
          disk_corrupt_(prometheus::BuildCounter()
                            .Name("metrics_governor_queue_disk_corrupt_total")
                            .Help("Torn or corrupt disk queue records (or files) cut off at "
                                  "startup.")
                            .Register(registry)
                            .Add({})),
          converted_points_(prometheus::BuildCounter()
                                .Name("metrics_governor_export_converted_datapoints_total")
                                .Help("OTLP data points converted to remote write for the backend "
                                      "(-exporter-protocol=prw).")
                                .Register(registry)
                                .Add({})),
          conversion_dropped_(
              prometheus::BuildCounter()
                  .Name("metrics_governor_export_conversion_dropped_datapoints_total")
                  .Help("Kept OTLP data points that cannot be converted to remote "
                        "write, by reason (delta_temporality, "
                        "unspecified_temporality, invalid_metric_name, "
                        "invalid_label_name, invalid_point, unsupported_scale, "
                        "exponential_histogram).")
                  .Register(registry)),
          disk_replayed_(prometheus::BuildCounter()
                             .Name("metrics_governor_queue_disk_replayed_payloads_total")
                             .Help("Payloads read back from the disk queue at startup and queued "
                                   "for sending.")
                             .Register(registry)
                             .Add({})),
          observe_only_gauge_(prometheus::BuildGauge()
                                  .Name("metrics_governor_export_observe_only")
                                  .Help("1 when no -exporter-endpoint is set and kept data is "
                                        "discarded.")
                                  .Register(registry)
                                  .Add({})),
          shards_gauge_(prometheus::BuildGauge()
                            .Name("metrics_governor_export_shards")
                            .Help("Ordered lanes the exporter sends on now (one request in flight "
                                  "each), between -exporter-min-shards and -exporter-max-shards.")
                            .Register(registry)
                            .Add({})),
          reshards_(prometheus::BuildCounter()
                        .Name("metrics_governor_export_reshards_total")
                        .Help("Changes of the shard count, by direction (up, down).")
                        .Register(registry)) {
        shards_gauge_.Set(static_cast<double>(queue_.shards().shards));
        queue_max_bytes_.Set(static_cast<double>(cfg.queue.max_bytes));
        observe_only_gauge_.Set(observe_only_ ? 1 : 0);
        stats_.bind_outstanding_gauge(&queue_points_);
    }

    status init() {
        if (observe_only_ && !qcfg_.path.empty()) {
            logging::warn("observe-only mode: the disk queue (-queue-path) is not used",
                          {{"path", qcfg_.path}});
        }
        if (observe_only_) {
            logging::warn(
                "exporter in observe-only mode: no -exporter-endpoint, kept series are "
                "counted and discarded",
                {{"protocol", cfg_.protocol}});
            return {};
        }
        auto ep = parse_endpoint(cfg_.endpoint, otlp_ ? "/v1/metrics" : "/api/v1/write");
        if (!ep) return make_error("-exporter-endpoint: " + ep.error_message());
        auto headers = parse_headers(cfg_.headers);
        if (!headers) return make_error("-exporter-headers: " + headers.error_message());
        for (const auto& [name, value] : *headers) {
            request_template_.set(name, value);
        }
        if (!cfg_.bearer_token.empty()) {
            request_template_.set(bhttp::field::authorization, "Bearer " + cfg_.bearer_token);
        } else if (!cfg_.basic_auth_username.empty()) {
            request_template_.set(bhttp::field::authorization,
                                  "Basic " + base64_encode(cfg_.basic_auth_username + ":" +
                                                           cfg_.basic_auth_password));
        }
        request_template_.method(bhttp::verb::post);
        request_template_.version(11);
        request_template_.target(ep->target);
        request_template_.set(bhttp::field::host, ep->host_header);
        request_template_.set(bhttp::field::user_agent, k_user_agent);
        if (!otlp_) request_template_.set("X-Prometheus-Remote-Write-Version", "0.1.0");
        request_template_.keep_alive(true);

        client_options co;
        co.target = *ep;
        co.timeout = cfg_.timeout;
        // Every lane may hold a connection: keep at least that many between requests.
        co.max_idle = static_cast<std::size_t>(std::max(cfg_.max_conns, cfg_.max_shards));
        co.tls = tls_options{cfg_.tls_ca_file, cfg_.tls_cert_file, cfg_.tls_key_file,
                             cfg_.tls_insecure_skip_verify};
        // Before the client: a failure below must leave client_ null (no threads to stop).
        if (!qcfg_.path.empty()) {
            if (auto st = open_disk_queue(); !st) return st;
        }
        auto client = http_client::create(strand_, std::move(co));
        if (!client) return make_error(client.error_message());
        client_ = std::move(*client);

        work_.emplace(ioc_.get_executor());
        for (unsigned i = 0; i < io_threads_count_; ++i) {
            io_threads_.emplace_back([this] { run_io(); });
        }
        batcher_ = std::thread([this] { run_batcher(); });
        logging::info("exporter started", {{"endpoint", (ep->tls ? "https://" : "http://") +
                                                            ep->host_header + ep->target},
                                           {"protocol", cfg_.protocol},
                                           {"native_histograms", cfg_.native_histograms},
                                           {"batch_size", cfg_.batch_size},
                                           {"flush_interval_ms", ms(cfg_.flush_interval)},
                                           {"max_conns", cfg_.max_conns},
                                           {"min_shards", cfg_.min_shards},
                                           {"max_shards", cfg_.max_shards},
                                           {"queue_max_bytes", queue_.max_bytes()},
                                           {"queue_path", qcfg_.path}});
        return {};
    }

    // Opens -queue-path and queues what a previous run left there, oldest first, before any new
    // submission (the batcher is not running yet). Replay may exceed -queue-max-bytes (bounded by
    // -queue-max-disk-bytes): submissions get queue_full until it drained below the budget.
    status open_disk_queue() {
        auto dq = disk_queue::open(qcfg_.path, qcfg_.max_disk_bytes, 0, file_system_);
        if (!dq) return make_error(dq.error_message());
        disk_ = std::move(*dq);
        disk_max_bytes_.Set(static_cast<double>(disk_->max_bytes()));
        disk_corrupt_.Increment(static_cast<double>(disk_->corrupt()));
        std::uint64_t n = 0;
        std::uint64_t series = 0;
        for (auto& p : disk_->take_recovered()) {
            stats_.accepted(p.series, p.points);
            stats_.replayed();
            series += p.series;
            ++n;
            // Epoch 0: before anything of this run, in one lane (the order they were written).
            queue_.try_push(p, lane_ref{0, 0}, true);
        }
        disk_replayed_.Increment(static_cast<double>(n));
        disk_bytes_.Set(static_cast<double>(disk_->bytes()));
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
        if (n != 0 || disk_->corrupt() != 0) {
            logging::info("disk queue: replaying what a previous run left",
                          {{"path", qcfg_.path},
                           {"payloads", n},
                           {"series", series},
                           {"bytes", disk_->bytes()},
                           {"corrupt", disk_->corrupt()}});
        }
        return {};
    }

    ~impl() {
        if (!drained_) drain(std::chrono::steady_clock::now());
    }

    // ---- ingest side ------------------------------------------------------------------------

    status check_source(source_protocol p) const {
        if (observe_only_) return {};
        const bool rw =
            p == source_protocol::remote_write_v1 || p == source_protocol::remote_write_v2;
        const bool otlp = is_otlp(p);
        if (!otlp_ && (rw || otlp)) return {};  // OTLP is converted to remote write
        if (otlp_ && otlp) return {};
        if (otlp_ && rw) {
            return make_error(
                "remote write input cannot be forwarded: the exporter speaks OTLP "
                "(-exporter-protocol=otlp) and converting remote write to OTLP is not implemented");
        }
        return make_error("input protocol unknown to the exporter");
    }

    bool converts(source_protocol p) const { return !observe_only_ && !otlp_ && is_otlp(p); }

    // Payloads of one request, each with its lane.
    using lane_payloads = std::vector<std::pair<payload, lane_ref>>;

    submit_status submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip = {},
                         submit_details* details = nullptr, reservation_state* room = nullptr) {
        if (closed_.load(std::memory_order_acquire) && (room == nullptr || room->bytes == 0))
            return submit_status::closed;
        if (keep.size() != batch.size()) {
            logging::error("exporter: keep mask does not match the batch (a bug)",
                           {{"keep", keep.size()}, {"series", batch.size()}});
            return submit_status::unsupported;
        }
        std::uint32_t series = 0;
        std::uint64_t points = 0;
        for (std::size_t i = 0; i < keep.size(); ++i) {
            if (keep[i] == 0) continue;
            ++series;
            points += batch[i].points();
        }
        if (series == 0) return submit_status::accepted;
        if (observe_only_) return discard(points);
        if (!check_source(batch.protocol())) return submit_status::unsupported;
        // Spare the encoding when it could not be queued anyway.
        if ((room == nullptr || room->bytes == 0) && queue_.bytes() >= queue_.max_bytes()) return refuse();
        const shard_state sh = queue_.shards();
        if (converts(batch.protocol())) return submit_converted(batch, keep, strip, details, sh, room);

        lane_payloads out;
        protocol::decode_status st;
        if (!otlp_) {
            st = encode_prw(batch, keep, strip, sh, out);
            // All of a request that would go as it came on one shard (submit_raw): its parts go
            // promptly too, so more shards add no wait for a batch to fill.
            if (sh.shards > 1 && series == batch.size() && strip.empty() && forwardable_as_is(batch))
                for (auto& part : out) part.first.prompt = true;
        } else {
            const auto format = batch.protocol() == source_protocol::otlp_json ? payload_format::otlp_json
                                                                               : payload_format::otlp_protobuf;
            auto encode_lane = [&](std::span<const std::uint8_t> lane_keep, lane_ref where) {
                payload p;
                p.format = format;
                for (std::size_t i = 0; i < lane_keep.size(); ++i) {
                    if (lane_keep[i] == 0) continue;
                    ++p.series;
                    p.points += batch[i].points();
                }
                auto r = protocol::encode_kept(batch, lane_keep, strip, p.body);
                out.emplace_back(std::move(p), where);
                return r;
            };
            if (sh.shards == 1) {
                st = encode_lane(keep, {0, sh.epoch});
            } else {
                auto& split = thread_split();
                split.split(batch, keep, sh.shards);
                for (const auto lane : split.used()) {
                    if (st = encode_lane(split.keep_for(lane, keep), {lane, sh.epoch}); !st) break;
                }
            }
        }
        if (!st) {
            errors_.Add({{"reason", "encode"}}).Increment();
            logging::error("exporter: cannot encode kept series (a bug)",
                           {{"error", st.error_message()}});
            return submit_status::unsupported;
        }
        return push(out, room);
    }

    // Remote write 1.0 for the kept series, one payload per lane used, in one pass.
    protocol::decode_status encode_prw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                                       std::span<const std::uint64_t> strip, const shard_state& sh,
                                       lane_payloads& out) {
        protocol::decode_status st;
        if (sh.shards == 1) {
            payload p;
            p.format = payload_format::prw_v1;
            protocol::remote_write_v1_writer w(p.body);
            for (std::size_t i = 0; i < keep.size() && st.ok(); ++i) {
                if (keep[i] == 0) continue;
                st = strip.empty() ? w.add_series(batch, i) : w.add_series(batch, i, strip[i]);
                ++p.series;
                p.points += batch[i].points();
            }
            if (st.ok()) w.add_metadata(batch);
            out.emplace_back(std::move(p), lane_ref{0, sh.epoch});
            return st;
        }
        auto& split = thread_split();
        split.split(batch, keep, sh.shards);
        // Index of each used lane's payload in `out`; writers append to those bodies.
        std::vector<std::size_t> slot(sh.shards, SIZE_MAX);
        for (const auto lane : split.used()) {
            slot[lane] = out.size();
            payload p;
            p.format = payload_format::prw_v1;
            out.emplace_back(std::move(p), lane_ref{lane, sh.epoch});
        }
        std::vector<std::optional<protocol::remote_write_v1_writer>> writers(out.size());
        for (std::size_t k = 0; k < out.size(); ++k) writers[k].emplace(out[k].first.body);
        for (std::size_t i = 0; i < keep.size() && st.ok(); ++i) {
            if (keep[i] == 0) continue;
            const std::size_t k = slot[split.lane_of(i)];
            st = strip.empty() ? writers[k]->add_series(batch, i) : writers[k]->add_series(batch, i, strip[i]);
            ++out[k].first.series;
            out[k].first.points += batch[i].points();
        }
        // Metadata is about metric families, not series: it travels with the first lane.
        if (st.ok() && !writers.empty()) writers.front()->add_metadata(batch);
        return st;
    }

    // OTLP for a remote-write backend: the kept points become TimeSeries. The payload counts
    // what is sent (TimeSeries and samples), like any remote-write payload, so the exporter's
    // accounting and 413 splitting stay in one unit; the conversion itself is counted in OTLP
    // points (converted / conversion_dropped), once the submission is accepted. Split over lanes
    // by the OTLP point's identity: every TimeSeries of one point travels its point's lane.
    submit_status submit_converted(const protocol::series_batch& batch,
                                   std::span<const std::uint8_t> keep,
                                   std::span<const std::uint64_t> strip, submit_details* details,
                                   const shard_state& sh, reservation_state* room) {
        // Native histograms only when the operator says the backend stores them
        // (-exporter-native-histograms, docs/export.md): otherwise a backend refuses a request
        // carrying one with a 500 (Prometheus without --enable-feature=native-histograms:
        // retried forever, the queue fills) or drops them silently (VictoriaMetrics 1.79).
        // Points not converted are counted below.
        protocol::prw_conversion_options options;
        options.native_histograms = cfg_.native_histograms;
        protocol::prw_conversion_result r;
        lane_payloads out;
        auto convert_lane = [&](std::span<const std::uint8_t> lane_keep, lane_ref where) -> status {
            payload p;
            p.format = payload_format::prw_v1;
            protocol::prw_conversion_result part;
            if (auto st = thread_converter().convert(batch, lane_keep, strip, p.body, part, options); !st)
                return make_error(st.error_message());
            p.series = part.series;
            p.points = part.samples + part.histograms;
            if (p.series != 0) out.emplace_back(std::move(p), where);
            add_conversion(r, std::move(part));
            return {};
        };
        status st;
        if (sh.shards == 1) {
            st = convert_lane(keep, {0, sh.epoch});
        } else {
            auto& split = thread_split();
            split.split(batch, keep, sh.shards);
            for (const auto lane : split.used()) {
                if (st = convert_lane(split.keep_for(lane, keep), {lane, sh.epoch}); !st) break;
            }
        }
        if (!st) {
            errors_.Add({{"reason", "encode"}}).Increment();
            logging::error("exporter: cannot convert kept OTLP points (a bug)",
                           {{"error", st.error_message()}});
            return submit_status::unsupported;
        }
        const submit_status result = out.empty() ? submit_status::accepted : push(out, room);
        if (result != submit_status::accepted) return result;  // the sender retries all of it
        converted_points_.Increment(static_cast<double>(r.points_converted));
        const std::uint64_t unconverted = r.points_dropped();
        if (unconverted != 0) {
            bool first_of_reason = false;
            for (std::size_t i = 0; i < r.dropped.size(); ++i) {
                if (r.dropped[i] == 0) continue;
                const std::string reason(
                    protocol::to_string(static_cast<protocol::prw_conversion_drop>(i)));
                conversion_dropped_.Add({{"reason", reason}})
                    .Increment(static_cast<double>(r.dropped[i]));
                const unsigned bit = 1U << i;
                first_of_reason =
                    first_of_reason ||
                    (warned_reasons_.fetch_or(bit, std::memory_order_relaxed) & bit) == 0;
            }
            // Once per reason at warn (the counter has the rest), every time at debug.
            const logging::fields f = {{"datapoints", unconverted}, {"first", r.first_drop}};
            if (first_of_reason) {
                logging::warn(
                    "OTLP data points cannot be converted to remote write and are not "
                    "exported (logged once per reason)",
                    f);
            } else {
                logging::debug("OTLP data points cannot be converted to remote write", f);
            }
        }
        stats_.converted(r);
        if (details != nullptr) {
            details->unconverted_points = unconverted;
            details->message = std::move(r.first_drop);
        }
        return submit_status::accepted;
    }

    submit_status submit_raw(std::string body, source_protocol proto, body_encoding enc,
                             std::uint32_t series, std::uint64_t points, reservation_state* room = nullptr) {
        if (closed_.load(std::memory_order_acquire) && (room == nullptr || room->bytes == 0))
            return submit_status::closed;
        if (observe_only_) return discard(points);
        if (!check_source(proto) || converts(proto)) return submit_status::unsupported;
        payload p;
        p.series = series;
        p.points = points;
        p.body = std::move(body);
        switch (proto) {
            case source_protocol::remote_write_v1:
                if (enc == body_encoding::gzip) return submit_status::unsupported;
                p.format = payload_format::prw_v1;
                p.compressed = enc == body_encoding::snappy;
                break;
            case source_protocol::otlp_protobuf:
            case source_protocol::otlp_json:
                if (enc == body_encoding::snappy) return submit_status::unsupported;
                p.format = proto == source_protocol::otlp_json ? payload_format::otlp_json
                                                               : payload_format::otlp_protobuf;
                p.compressed = enc == body_encoding::gzip;
                break;
            case source_protocol::remote_write_v2:
            case source_protocol::none:
                return submit_status::unsupported;
        }
        if (series == 0) return submit_status::accepted;
        // A request goes as it came only on one shard: with more, its series belong to lanes.
        const shard_state sh = queue_.shards();
        if (sh.shards != 1) return submit_status::not_raw;
        lane_payloads out;
        out.emplace_back(std::move(p), lane_ref{0, sh.epoch});
        return push(out, room);
    }

    bool can_forward_raw(const protocol::series_batch& batch) const {
        return forwardable_as_is(batch) && queue_.shards().shards == 1;
    }

    // The request's own bytes are what the backend would get from us, whatever the shard count.
    bool forwardable_as_is(const protocol::series_batch& batch) const {
        const auto p = batch.protocol();
        const bool forwardable = p == source_protocol::remote_write_v1 || p == source_protocol::otlp_protobuf ||
                                 p == source_protocol::otlp_json;
        return forwardable && !converts(p) && !batch.any_labels_unsorted();
    }

    submit_status reserve(std::uint64_t bytes, reservation_state& out) {
        out.bytes = 0;
        if (observe_only_) return submit_status::accepted;
        if (closed_.load(std::memory_order_acquire)) return submit_status::closed;
        if (disk_ && disk_->bytes() + bytes > disk_->max_bytes()) return refuse();
        if (!queue_.try_reserve(bytes)) return closed_.load(std::memory_order_acquire) ? submit_status::closed : refuse();
        out.bytes = bytes;
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
        return submit_status::accepted;
    }

    void unreserve(std::uint64_t bytes) {
        if (bytes == 0) return;
        queue_.unreserve(bytes);
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
    }

    std::uint32_t shards() const { return queue_.shards().shards; }

    // ---- shutdown ---------------------------------------------------------------------------

    drain_report drain(std::chrono::steady_clock::time_point deadline) {
        if (drained_) return {};
        drained_ = true;
        closed_.store(true, std::memory_order_release);
        drain_report report;
        if (observe_only_ || !client_) return report;

        const auto before = stats_.snapshot_shutdown();
        queue_.flush_now();
        queue_.close();
        if (!queue_.wait_empty(deadline)) {
            report.complete = false;
            report.bytes_left = queue_.bytes();
            aborting_.store(true, std::memory_order_release);
            slots_cv_.notify_all();
            // With a disk queue what is left stays outstanding: it is on disk for the next start.
            for (auto& p : queue_.abort()) {
                if (!disk_) drop(p, "shutdown");
            }
            asio::post(strand_, [this] {
                for (const auto& j : jobs_) j->timer.cancel();
                client_->close_all();
            });
        }
        batcher_.join();
        {
            // In-flight jobs finish promptly once aborted: their sockets and timers are closed.
            std::unique_lock lock(slots_mu_);
            slots_cv_.wait(lock, [&] { return in_flight_ == 0; });
        }
        work_.reset();
        for (auto& t : io_threads_) t.join();
        io_threads_.clear();
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));

        const auto after = stats_.snapshot_shutdown();
        report.series_left = after.first - before.first;
        report.points_left = after.second - before.second;
        if (disk_) {
            const auto s = stats_.snapshot();
            report.complete = true;
            report.series_left = s.outstanding_series;
            report.points_left = s.outstanding_points;
            report.disk_bytes_left = disk_->bytes();
            disk_bytes_.Set(static_cast<double>(report.disk_bytes_left));
            if (s.outstanding_series != 0) {
                logging::warn("exporter drain deadline passed: undelivered data kept on disk",
                              {{"path", qcfg_.path},
                               {"series", report.series_left},
                               {"datapoints", report.points_left},
                               {"disk_bytes", report.disk_bytes_left}});
                return report;
            }
        }
        if (report.complete) {
            logging::info("exporter drained: everything accepted was delivered or rejected");
        } else {
            logging::error("exporter drain deadline passed: undelivered data dropped",
                           {{"series", report.series_left},
                            {"datapoints", report.points_left},
                            {"bytes", report.bytes_left}});
        }
        return report;
    }

    // ---- accessors --------------------------------------------------------------------------

    std::chrono::seconds retry_after_hint() const {
        const auto s = std::chrono::ceil<std::chrono::seconds>(cfg_.flush_interval);
        return std::max(std::chrono::seconds(1), s);
    }
    bool observe_only() const { return observe_only_; }
    std::uint64_t queue_bytes() const { return queue_.bytes(); }
    std::uint64_t queue_max_bytes() const { return queue_.max_bytes(); }

    export_stats stats() const {
        export_stats s = stats_.snapshot();
        s.connections_opened = client_ ? client_->connections_opened() : 0;
        if (disk_) {
            s.disk_bytes = disk_->bytes();
            s.disk_corrupt = disk_->corrupt();
        }
        return s;
    }

  private:
    // Plain counters behind stats(); the mutex keeps a snapshot consistent (the invariant
    // submitted = sent + dropped + outstanding holds in every snapshot).
    class counters {
      public:
        // The gauge follows outstanding_points, set under the lock so that concurrent updates
        // cannot leave it at a stale value.
        void bind_outstanding_gauge(prometheus::Gauge* g) {
            std::lock_guard lock(mu_);
            outstanding_gauge_ = g;
            publish();
        }
        void accepted(std::uint32_t series, std::uint64_t points) {
            std::lock_guard lock(mu_);
            s_.submitted_series += series;
            s_.submitted_points += points;
            s_.outstanding_series += series;
            s_.outstanding_points += points;
            publish();
        }
        void revert(std::uint32_t series, std::uint64_t points) {
            std::lock_guard lock(mu_);
            s_.submitted_series -= series;
            s_.submitted_points -= points;
            s_.outstanding_series -= series;
            s_.outstanding_points -= points;
            publish();
        }
        void sent(std::uint32_t series, std::uint64_t points) {
            std::lock_guard lock(mu_);
            s_.sent_series += series;
            s_.sent_points += points;
            s_.outstanding_series -= series;
            s_.outstanding_points -= points;
            publish();
        }
        void dropped(std::uint32_t series, std::uint64_t points, const std::string& reason) {
            std::lock_guard lock(mu_);
            s_.dropped_series += series;
            s_.dropped_points += points;
            s_.dropped_points_by_reason[reason] += points;
            if (reason == "shutdown") {
                shutdown_series_ += series;
                shutdown_points_ += points;
            }
            s_.outstanding_series -= series;
            s_.outstanding_points -= points;
            publish();
        }
        void queue_full() {
            std::lock_guard lock(mu_);
            ++s_.queue_full;
        }
        void discarded(std::uint64_t points) {
            std::lock_guard lock(mu_);
            s_.discarded_points += points;
        }
        void request() {
            std::lock_guard lock(mu_);
            ++s_.requests;
        }
        void replayed() {
            std::lock_guard lock(mu_);
            ++s_.replayed_payloads;
        }
        void retry() {
            std::lock_guard lock(mu_);
            ++s_.retries;
        }
        void reshard() {
            std::lock_guard lock(mu_);
            ++s_.reshards;
        }
        void converted(const protocol::prw_conversion_result& r) {
            std::lock_guard lock(mu_);
            s_.converted_points += r.points_converted;
            s_.conversion_dropped_points += r.points_dropped();
            for (std::size_t i = 0; i < r.dropped.size(); ++i) {
                if (r.dropped[i] == 0) continue;
                s_.conversion_dropped_points_by_reason[std::string(protocol::to_string(
                    static_cast<protocol::prw_conversion_drop>(i)))] += r.dropped[i];
            }
        }
        export_stats snapshot() const {
            std::lock_guard lock(mu_);
            return s_;
        }
        std::pair<std::uint64_t, std::uint64_t> snapshot_shutdown() const {
            std::lock_guard lock(mu_);
            return {shutdown_series_, shutdown_points_};
        }

      private:
        void publish() {
            if (outstanding_gauge_ != nullptr) outstanding_gauge_->Set(static_cast<double>(s_.outstanding_points));
        }

        mutable std::mutex mu_;
        prometheus::Gauge* outstanding_gauge_ = nullptr;
        export_stats s_;
        std::uint64_t shutdown_series_ = 0;
        std::uint64_t shutdown_points_ = 0;
    };

    // An upstream request and what is left of it after 413 splits. Strand only.
    struct job {
        explicit job(const http_client::strand& s) : timer(s) {}
        std::deque<payload> parts;  // in wire encoding; front() is being sent
        std::uint64_t bytes = 0;    // queue budget to release when the job ends
        lane_ref where;             // its lane, free again when the job ends
        std::size_t payloads = 0;   // queued payloads merged into it
        std::vector<std::uint64_t> disk_ids;  // records to acknowledge when the job ends
        bool keep_on_disk = false;            // aborted at shutdown: not acknowledged
        unsigned attempt = 0;       // retries of the front part so far
        std::optional<std::chrono::steady_clock::time_point> failing_since;
        bool warned = false;
        http_client::request req;
        asio::steady_timer timer;
    };
    using job_ptr = std::shared_ptr<job>;

    submit_status discard(std::uint64_t points) {
        discarded_points_.Increment(static_cast<double>(points));
        stats_.discarded(points);
        return submit_status::accepted;
    }

    submit_status refuse() {
        queue_full_.Increment();
        stats_.queue_full();
        return submit_status::queue_full;
    }

    // Series and points of one request's payloads.
    static std::pair<std::uint32_t, std::uint64_t> totals(const lane_payloads& items) {
        std::uint32_t series = 0;
        std::uint64_t points = 0;
        for (const auto& [p, where] : items) {
            series += p.series;
            points += p.points;
        }
        return {series, points};
    }

    // Queues one request's payloads, all or none. With a reservation the room was promised
    // before the series were admitted: the push draws on it and is not refused for room.
    submit_status push(lane_payloads& items, reservation_state* room) {
        if (disk_) return push_durable(items, room);
        const auto [series, points] = totals(items);
        // Counted before the push: the batcher may send it (and count it sent) at once.
        stats_.accepted(series, points);
        std::uint64_t none = 0;
        if (!queue_.try_push_group(items, room != nullptr ? room->bytes : none)) {
            stats_.revert(series, points);  // never accepted: neither sent nor dropped
            return closed_.load(std::memory_order_acquire) ? submit_status::closed : refuse();
        }
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
        return submit_status::accepted;
    }

    // The disk queue's push: the records are on disk (synced) before accepted is returned.
    // push_mu_ serializes pushers, so the room checked in the memory queue can only grow
    // (releases) before the push that follows the disk writes. A request split over lanes is
    // several records: if one cannot be written, those written are acknowledged (removed) again.
    submit_status push_durable(lane_payloads& items, reservation_state* room) {
        std::lock_guard lock(push_mu_);
        std::uint64_t cost = 0;
        for (const auto& [p, where] : items) cost += p.cost();
        const auto used = queue_.bytes();
        const bool reserved = room != nullptr && room->bytes != 0;
        if (!reserved && used != 0 && used + cost > queue_.max_bytes()) return refuse();
        std::vector<std::uint64_t> written;
        for (auto& [p, where] : items) {
            const auto st = disk_->append(p);
            if (st == disk_queue::append_status::ok) {
                written.push_back(p.disk_id);
                continue;
            }
            if (st == disk_queue::append_status::error) errors_.Add({{"reason", "disk"}}).Increment();
            if (!written.empty()) disk_->ack(written);
            disk_bytes_.Set(static_cast<double>(disk_->bytes()));
            return refuse();
        }
        disk_bytes_.Set(static_cast<double>(disk_->bytes()));
        const auto [series, points] = totals(items);
        stats_.accepted(series, points);
        // Fails only when drain() closed the queue meanwhile: the payloads are on disk and go out
        // after the next start, so they were accepted all the same.
        std::uint64_t none = 0;
        queue_.try_push_group(items, reserved ? room->bytes : none);
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
        return submit_status::accepted;
    }

    void drop(const payload& p, const std::string& reason) {
        dropped_series_.Add({{"reason", reason}}).Increment(p.series);
        dropped_points_.Add({{"reason", reason}}).Increment(static_cast<double>(p.points));
        stats_.dropped(p.series, p.points, reason);
    }

    void run_io() {
        for (;;) {
            try {
                ioc_.run();
                return;
            } catch (const std::exception& e) {
                errors_.Add({{"reason", "internal"}}).Increment();
                logging::error("exporter io thread: unexpected exception", {{"error", e.what()}});
            }
        }
    }

    // Takes ready batches lane by lane (a lane has one in flight) and, once a tick, lets the
    // scaler change the shard count.
    void run_batcher() {
        auto next_tick = std::chrono::steady_clock::now() + k_scaler_tick;
        for (;;) {
            try {
                taken_batch b;
                const auto r = queue_.next_batch(b, cfg_.batch_size, cfg_.flush_interval, next_tick);
                if (r == export_queue::wait_result::closed) return;
                if (std::chrono::steady_clock::now() >= next_tick) {
                    rescale();
                    next_tick = std::chrono::steady_clock::now() + k_scaler_tick;
                }
                if (r == export_queue::wait_result::timeout) continue;
                auto j = std::make_shared<job>(strand_);
                j->bytes = b.bytes;
                j->where = b.where;
                j->payloads = b.items.size();
                for (const auto& p : b.items) {
                    if (p.disk_id != 0) j->disk_ids.push_back(p.disk_id);
                }
                j->parts.emplace_back();
                if (auto st = merge(b.items, j->parts.front()); !st) {
                    // A forwarded body that no longer decompresses (it did on ingest): a bug.
                    errors_.Add({{"reason", "encode"}}).Increment();
                    logging::error("exporter: cannot merge a batch", {{"error", st.error_message()}});
                    for (const auto& p : b.items) drop(p, "encode");
                    j->parts.clear();
                } else if (st = to_wire(j->parts.front()); !st) {
                    errors_.Add({{"reason", "encode"}}).Increment();
                    logging::error("exporter: cannot compress a batch",
                                   {{"error", st.error_message()}});
                    drop(j->parts.front(), "encode");
                    j->parts.clear();
                }
                {
                    std::lock_guard lock(slots_mu_);
                    ++in_flight_;
                }
                asio::post(strand_, [this, j] { start_job(j); });
            } catch (const std::exception& e) {
                errors_.Add({{"reason", "internal"}}).Increment();
                logging::error("exporter batcher: unexpected exception", {{"error", e.what()}});
            }
        }
    }

    void rescale() {
        const auto now_shards = queue_.shards().shards;
        const auto want = scaler_.on_tick(now_shards, queue_.usage(), std::chrono::steady_clock::now());
        queue_.set_merge_forwarded(scaler_.latency_bound());
        if (want == now_shards || closed_.load(std::memory_order_acquire)) return;
        // Counted first: whoever sees the new count sees the change counted too.
        shards_gauge_.Set(static_cast<double>(want));
        reshards_.Add({{"direction", want > now_shards ? "up" : "down"}}).Increment();
        stats_.reshard();
        queue_.set_shards(want);
        resplit();
        const auto why = scaler_.last_reason();
        logging::info("export shards changed", {{"from", now_shards},
                                                {"to", want},
                                                {"reason", why == scale_reason::up      ? "lanes busy, data waiting, long round trips"
                                                           : why == scale_reason::no_gain ? "the last increase did not deliver more"
                                                                                          : "lanes idle"},
                                                {"utilization", scaler_.last_utilization()},
                                                {"round_trip_ms", ms(scaler_.round_trip())},
                                                {"queue_bytes", queue_.bytes()}});
    }

    // After a reshard: what waits in the old lanes is split over the new ones (remote write 1.0
    // is decoded and re-encoded per lane), so the backlog is sent with the new concurrency and
    // only the batches in flight hold the barrier. A payload of the disk queue (its record is
    // acknowledged whole) or of another format goes back to its old lane unchanged.
    // Without it the new lanes would wait behind the barrier until the old ones had drained the
    // backlog alone: a flood that filled the queue before the scaler reacted would see no gain.
    void resplit() {
        const auto started = std::chrono::steady_clock::now();
        auto taken = queue_.take_waiting();
        if (taken.empty()) return;
        // The pieces are plain protobuf: a forwarded (snappy) body grows by its compression ratio,
        // which is large for remote write. When that would take the queue past its byte budget,
        // everything goes back as it was (the budget bounds memory, not only admissions).
        std::uint64_t growth = 0;
        for (const auto& t : taken) {
            if (!t.p.compressed || t.p.format != payload_format::prw_v1 || t.p.disk_id != 0) continue;
            const auto plain_size = protocol::uncompressed_size_hint(t.p.body);
            growth += plain_size > t.p.body.size() ? plain_size - t.p.body.size() : 0;
        }
        if (queue_.bytes() + growth > queue_.max_bytes()) {
            logging::debug("export backlog left in the old lanes: split it would pass the queue budget",
                           {{"payloads", taken.size()}, {"growth_bytes", growth}, {"queue_bytes", queue_.bytes()}});
            queue_.put_resplit({}, std::move(taken), {});
            return;
        }
        const shard_state sh = queue_.shards();
        lane_payloads split;
        std::vector<export_queue::taken_payload> unchanged;
        std::vector<std::pair<lane_ref, std::uint64_t>> sources;
        protocol::series_batch batch;
        std::string plain;
        std::vector<std::uint8_t> keep;
        for (auto& t : taken) {
            bool ok = t.p.format == payload_format::prw_v1 && t.p.disk_id == 0;
            protocol::bytes_view body(t.p.body.data(), t.p.body.size());
            if (ok && t.p.compressed) {
                ok = protocol::snappy_decode(body, std::size_t{1} << 30, plain).ok();
                body = protocol::bytes_view(plain.data(), plain.size());
            }
            ok = ok && protocol::decode_remote_write_v1(body, batch).ok();
            lane_payloads parts;
            if (ok) {
                keep.assign(batch.size(), 1);
                ok = encode_prw(batch, keep, {}, sh, parts).ok();
            }
            if (!ok) {
                unchanged.push_back(std::move(t));
                continue;
            }
            sources.emplace_back(t.where, t.p.cost());
            const bool prompt = t.p.prompt || t.p.compressed;  // a forwarded body was prompt
            for (auto& part : parts) {
                part.first.prompt = prompt;
                split.push_back(std::move(part));
            }
        }
        logging::debug("export backlog split over the new shards",
                       {{"payloads", sources.size()},
                        {"into", split.size()},
                        {"unchanged", unchanged.size()},
                        {"ms", ms(std::chrono::steady_clock::now() - started)}});
        queue_.put_resplit(std::move(split), std::move(unchanged), sources);
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
    }

    // One payload of a batch: bodies concatenated (both messages are only repeated fields);
    // forwarded bodies merged because of a backlog are decompressed first (the result is
    // compressed once, by to_wire).
    static protocol::decode_status merge(std::vector<payload>& items, payload& out) {
        if (items.size() == 1) {
            out = std::move(items.front());
            return {};
        }
        out = payload{};
        out.format = items.front().format;
        std::size_t size = 0;
        for (const auto& p : items) size += p.compressed ? protocol::uncompressed_size_hint(p.body) : p.body.size();
        out.body.reserve(size);  // one allocation: no copy of what is already merged
        thread_local std::string plain;
        for (const auto& p : items) {
            if (p.compressed) {
                constexpr std::size_t k_max = std::size_t{1} << 30;  // was decoded on ingest within its limit
                const auto st = p.format == payload_format::prw_v1 ? protocol::snappy_decode(p.body, k_max, plain)
                                                                   : protocol::gzip_decode(p.body, k_max, plain);
                if (!st) return st;
                out.body += plain;
            } else {
                out.body += p.body;
            }
            out.series += p.series;
            out.points += p.points;
        }
        return {};
    }

    // ---- strand: one upstream request at a time per job ----

    void start_job(const job_ptr& j) {
        jobs_.insert(j);
        next_attempt(j);
    }

    void finish_job(const job_ptr& j) {
        jobs_.erase(j);
        if (disk_ && !j->keep_on_disk && !j->disk_ids.empty()) {
            disk_->ack(j->disk_ids);
            disk_bytes_.Set(static_cast<double>(disk_->bytes()));
        }
        queue_.release(j->where, j->payloads, j->bytes);
        queue_bytes_.Set(static_cast<double>(queue_.bytes()));
        {
            std::lock_guard lock(slots_mu_);
            --in_flight_;
        }
        slots_cv_.notify_all();
    }

    void next_attempt(const job_ptr& j) {
        if (j->parts.empty()) return finish_job(j);
        if (aborting_.load(std::memory_order_acquire)) {
            // With a disk queue the job's records stay on disk (even parts of it that were sent
            // after a 413 split: at-least-once) and its data stays outstanding.
            if (disk_) {
                j->keep_on_disk = true;
            } else {
                for (const auto& p : j->parts) drop(p, "shutdown");
            }
            j->parts.clear();
            return finish_job(j);
        }
        payload& p = j->parts.front();
        j->req = request_template_;
        j->req.set(bhttp::field::content_type, content_type(p.format));
        j->req.set(bhttp::field::content_encoding, content_encoding(p.format));
        j->req.body() = std::move(p.body);
        j->req.prepare_payload();
        client_->async_send(j->req, [this, j](http_outcome out) { on_outcome(j, std::move(out)); });
    }

    void on_outcome(const job_ptr& j, http_outcome out) {
        payload& p = j->parts.front();
        p.body = std::move(j->req.body());
        if (out.transport_failed()) {
            errors_.Add({{"reason", out.error_reason}}).Increment();
            return retry_later(j, out, std::nullopt);
        }
        stats_.request();
        requests_.Add({{"code", std::to_string(out.status)}}).Increment();
        if (out.status >= 200 && out.status < 300) {
            sent_points_.Increment(static_cast<double>(p.points));
            sent_series_.Increment(p.series);
            stats_.sent(p.series, p.points);
            if (j->warned) {
                logging::info("export request delivered after retries", {{"retries", j->attempt}});
            }
            return next_part(j);
        }
        if (out.status == 413) {
            errors_.Add({{"reason", "http_413"}}).Increment();
            payload first;
            payload second;
            if (auto st = split_in_half(p, first, second); st.ok()) {
                logging::warn("backend refused a batch as too large; splitting it",
                              {{"series", p.series}, {"halves", {first.series, second.series}}});
                j->parts.pop_front();
                j->parts.push_front(std::move(second));
                j->parts.push_front(std::move(first));
                j->attempt = 0;
                j->failing_since.reset();
                return next_attempt(j);
            }
            reject(j, out, "too_large");
            return next_part(j);
        }
        if (out.status == 429 || out.status >= 500) {
            errors_.Add({{"reason", out.status == 429 ? "http_429" : "http_5xx"}}).Increment();
            std::optional<std::chrono::nanoseconds> hint;
            if (!out.retry_after.empty()) {
                hint = parse_retry_after(out.retry_after, clock_.wall_now());
            }
            return retry_later(j, out, hint);
        }
        errors_.Add({{"reason", "http_4xx"}}).Increment();
        reject(j, out, "rejected");
        next_part(j);
    }

    void reject(const job_ptr& j, const http_outcome& out, const std::string& reason) {
        const payload& p = j->parts.front();
        logging::warn("backend rejected an export request; its data is dropped",
                      {{"status", out.status},
                       {"reason", reason},
                       {"series", p.series},
                       {"datapoints", p.points},
                       {"response", truncate(out.body, k_logged_body)}});
        drop(p, reason);
    }

    void next_part(const job_ptr& j) {
        j->parts.pop_front();
        j->attempt = 0;
        j->failing_since.reset();
        j->warned = false;
        next_attempt(j);
    }

    void retry_later(const job_ptr& j, const http_outcome& out,
                     std::optional<std::chrono::nanoseconds> hint) {
        if (aborting_.load(std::memory_order_acquire)) return next_attempt(j);  // drops
        const auto now = clock_.monotonic_now();
        if (!j->failing_since) j->failing_since = now;
        if (cfg_.max_retry_time.count() > 0 && now - *j->failing_since >= cfg_.max_retry_time) {
            reject(j, out, "retries_exhausted");
            return next_part(j);
        }
        const auto delay = hint ? std::min<std::chrono::nanoseconds>(*hint, k_max_retry_after)
                                : backoff_.next_delay(j->attempt);
        ++j->attempt;
        retries_.Increment();
        stats_.retry();
        const logging::fields f = {{"reason", out.transport_failed() ? out.error_reason : "status"},
                                   {"status", out.status},
                                   {"error", out.error_message},
                                   {"attempt", j->attempt},
                                   {"delay_ms", ms(delay)}};
        if (!j->warned) {
            logging::warn("export request failed; retrying", f);
            j->warned = true;
        } else {
            logging::debug("export request failed again; retrying", f);
        }
        j->timer.expires_after(delay);
        j->timer.async_wait([this, j](boost::system::error_code) { next_attempt(j); });
    }

    // Settings and collaborators (immutable after init()).
    const exporter_options cfg_;
    const queue_options qcfg_;
    const bool observe_only_;
    const bool otlp_;
    mg::clock& clock_;
    mg::file_system& file_system_;  // the disk queue's
    const backoff_policy backoff_;
    http_client::request request_template_;
    export_queue queue_;
    shard_scaler scaler_;  // batcher thread only
    const unsigned io_threads_count_;

    asio::io_context ioc_;
    http_client::strand strand_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::unique_ptr<http_client> client_;
    std::vector<std::thread> io_threads_;
    std::thread batcher_;
    std::unique_ptr<disk_queue> disk_;  // null without -queue-path; set in init()
    std::mutex push_mu_;                // disk queue pushes

    std::mutex slots_mu_;
    std::condition_variable slots_cv_;
    unsigned in_flight_ = 0;  // jobs handed to the strand and not finished
    std::atomic<bool> aborting_{false};
    std::atomic<unsigned> warned_reasons_{0};  // prw_conversion_drop reasons logged at warn
    std::atomic<bool> closed_{false};
    bool drained_ = false;  // control thread only

    std::unordered_set<job_ptr> jobs_;  // strand only

    counters stats_;
    prometheus::Counter& sent_points_;
    prometheus::Counter& sent_series_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Counter>& errors_;
    prometheus::Counter& retries_;
    prometheus::Family<prometheus::Counter>& dropped_series_;
    prometheus::Family<prometheus::Counter>& dropped_points_;
    prometheus::Counter& queue_full_;
    prometheus::Counter& discarded_points_;
    prometheus::Gauge& queue_bytes_;
    prometheus::Gauge& queue_points_;
    prometheus::Gauge& queue_max_bytes_;
    prometheus::Gauge& disk_bytes_;
    prometheus::Gauge& disk_max_bytes_;
    prometheus::Counter& disk_corrupt_;
    prometheus::Counter& converted_points_;
    prometheus::Family<prometheus::Counter>& conversion_dropped_;
    prometheus::Counter& disk_replayed_;
    prometheus::Gauge& observe_only_gauge_;
    prometheus::Gauge& shards_gauge_;
    prometheus::Family<prometheus::Counter>& reshards_;
};

// ---- public wrapper ---------------------------------------------------------------------------

status exporter::check_settings(const exporter_options& cfg) {
    if (cfg.protocol != "prw" && cfg.protocol != "otlp") {
        return make_error("-exporter-protocol: \"" + cfg.protocol + "\" is not prw or otlp");
    }
    if (cfg.max_conns < 1) return make_error("-exporter-max-conns: must be at least 1");
    if (cfg.min_shards < 1 || cfg.max_shards < cfg.min_shards)
        return make_error("-exporter-min-shards and -exporter-max-shards: need 1 <= min_shards <= max_shards (got " +
                          std::to_string(cfg.min_shards) + " and " + std::to_string(cfg.max_shards) + ")");
    if (cfg.batch_size < 1) return make_error("-batch-size: must be at least 1");
    if (cfg.endpoint.empty()) return {};  // observe-only: nothing else is used
    // The same calls (and messages) as impl::init; the TLS files are loaded once more there,
    // which costs a few milliseconds at startup.
    auto ep =
        parse_endpoint(cfg.endpoint, cfg.protocol == "otlp" ? "/v1/metrics" : "/api/v1/write");
    if (!ep) return make_error("-exporter-endpoint: " + ep.error_message());
    auto headers = parse_headers(cfg.headers);
    if (!headers) return make_error("-exporter-headers: " + headers.error_message());
    if (ep->tls) {
        auto ctx = make_client_tls_context(tls_options{
            cfg.tls_ca_file, cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_insecure_skip_verify});
        if (!ctx) return make_error(ctx.error_message());
    }
    return {};
}

result<std::unique_ptr<exporter>> exporter::create(const exporter_options& options,
                                                   prometheus::Registry& registry,
                                                   exporter_deps deps) {
    if (auto st = check_settings(options); !st) return make_error(st.error_message());
    auto p = std::make_unique<impl>(options, registry, std::move(deps));
    if (auto st = p->init(); !st) return make_error(st.error_message());
    return std::unique_ptr<exporter>(new exporter(std::move(p)));
}

exporter::exporter(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
exporter::~exporter() = default;

status exporter::check_source(protocol::source_protocol p) const {
    return impl_->check_source(p);
}
submit_status exporter::submit(const protocol::series_batch& batch,
                               std::span<const std::uint8_t> keep) {
    return impl_->submit(batch, keep);
}
submit_status exporter::submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                               std::span<const std::uint64_t> strip_masks) {
    return impl_->submit(batch, keep, strip_masks);
}
submit_status exporter::submit(const protocol::series_batch& batch,
                               std::span<const std::uint8_t> keep,
                               std::span<const std::uint64_t> strip_masks,
                               submit_details& details, reservation* room) {
    details = submit_details{};
    if (room == nullptr || !room->held()) return impl_->submit(batch, keep, strip_masks, &details);
    reservation_state st{room->bytes_};
    const auto r = impl_->submit(batch, keep, strip_masks, &details, &st);
    room->bytes_ = st.bytes;
    return r;
}
submit_status exporter::reserve(std::uint64_t bytes, reservation& out) {
    out = reservation{};
    reservation_state st;
    const auto r = impl_->reserve(bytes, st);
    if (r == submit_status::accepted) {
        out.owner_ = this;
        out.bytes_ = st.bytes;
    }
    return r;
}
void exporter::unreserve(std::uint64_t bytes) { impl_->unreserve(bytes); }
bool exporter::can_forward_raw(const protocol::series_batch& batch) const { return impl_->can_forward_raw(batch); }
std::uint32_t exporter::shards() const { return impl_->shards(); }

reservation::~reservation() {
    if (owner_ != nullptr && bytes_ != 0) owner_->unreserve(bytes_);
}
reservation::reservation(reservation&& o) noexcept : owner_(o.owner_), bytes_(o.bytes_) {
    o.owner_ = nullptr;
    o.bytes_ = 0;
}
reservation& reservation::operator=(reservation&& o) noexcept {
    if (this != &o) {
        if (owner_ != nullptr && bytes_ != 0) owner_->unreserve(bytes_);
        owner_ = o.owner_;
        bytes_ = o.bytes_;
        o.owner_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}
bool exporter::converts(protocol::source_protocol p) const {
    return impl_->converts(p);
}
submit_status exporter::submit_raw(std::string body, protocol::source_protocol p, body_encoding enc,
                                   std::uint32_t series, std::uint64_t points, reservation* room) {
    if (room == nullptr || !room->held()) return impl_->submit_raw(std::move(body), p, enc, series, points);
    reservation_state st{room->bytes_};
    const auto r = impl_->submit_raw(std::move(body), p, enc, series, points, &st);
    room->bytes_ = st.bytes;
    return r;
}
drain_report exporter::drain(std::chrono::steady_clock::time_point deadline) {
    return impl_->drain(deadline);
}
std::chrono::seconds exporter::retry_after_hint() const {
    return impl_->retry_after_hint();
}
bool exporter::observe_only() const {
    return impl_->observe_only();
}
std::uint64_t exporter::queue_bytes() const {
    return impl_->queue_bytes();
}
std::uint64_t exporter::queue_max_bytes() const {
    return impl_->queue_max_bytes();
}
export_stats exporter::stats() const {
    return impl_->stats();
}

}  // namespace mg::exporter
