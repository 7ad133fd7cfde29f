// The exporter's front: create() and the settings check, the ingest side (check_source,
// reserve, submit, submit_raw and the one rule of the raw fast path) and drain(). Around it, each
// in its own file: the options and their checks (exporter_options.h, upstream.h), the per-lane
// encoding (lane_payloads.h), the queue pushes, memory and disk (intake.h), the batcher thread
// and resharding (batcher.h), the upstream requests on the strand (delivery.h) and what is
// counted (export_metrics.h).
#include "export/exporter.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "export/batcher.h"
#include "export/delivery.h"
#include "export/export_metrics.h"
#include "export/grpc_status.h"
#include "export/http_client.h"
#include "export/http_transport.h"
#include "export/intake.h"
#include "export/lane_epochs.h"
#include "export/lane_payloads.h"
#include "export/payload.h"
#include "export/queue.h"
#include "export/upstream.h"
#include "logging/log.h"
#include "protocol/otlp_to_prw.h"

namespace mg::exporter {

namespace asio = boost::asio;
using protocol::source_protocol;

namespace {

bool is_otlp(source_protocol p) {
    return p == source_protocol::otlp_protobuf || p == source_protocol::otlp_json;
}

std::uint32_t shard_bound(int n) {
    return static_cast<std::uint32_t>(std::max(1, n));
}

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

// The exporter's state: the queue, and behind it the batcher and the delivery (created by init()
// unless observe-only).
class exporter::impl {
  public:
    impl(const exporter_options& o, prometheus::Registry& registry, exporter_deps deps)
        : o_(o),
          observe_only_(o.endpoint.empty()),
          otlp_(o.protocol == "otlp" || o.protocol == "otlp-grpc"),
          grpc_(o.protocol == "otlp-grpc"),
          clock_(deps.clock != nullptr ? *deps.clock : system_clock_instance()),
          file_system_(deps.file_system != nullptr ? *deps.file_system : posix_file_system()),
          random_(std::move(deps.random)),
          grpc_transport_(std::move(deps.grpc_transport)),
          metrics_(registry),
          // The real clock, not deps.clock: the batcher's ticks and drain()'s deadline are
          // steady_clock times, and the retry timers are Asio's.
          queue_(system_clock_instance(), o.queue.max_bytes, shard_bound(o.max_shards),
                 shard_bound(o.min_shards)),
          epochs_(queue_, deps.lane_map_max_series != 0 ? deps.lane_map_max_series
                                                        : lane_affinity::k_default_max_series),
          intake_(queue_, metrics_, closed_),
          io_threads_count_(std::max(1U, deps.io_threads)),
          strand_(asio::make_strand(ioc_)) {
        metrics_.set_shards(queue_.shards().shards);
        queue_.set_forward_linger(std::min(o.forward_linger, o.flush_interval));
        metrics_.set_queue_max_bytes(o.queue.max_bytes);
        metrics_.set_observe_only(observe_only_);
    }

    status init() {
        if (observe_only_ && !o_.queue.path.empty()) {
            logging::warn("observe-only mode: the disk queue (-queue-path) is not used",
                          {{"path", o_.queue.path}});
        }
        if (observe_only_) {
            logging::warn(
                "exporter in observe-only mode: no -exporter-endpoint, kept series are "
                "counted and discarded",
                {{"protocol", o_.protocol}});
            return {};
        }
        auto up = make_upstream(o_);
        if (!up) return make_error(up.error_message());
        const endpoint target = up->client.target;
        // Before the client: a failure below must leave delivery_ null (no threads to stop).
        if (!o_.queue.path.empty()) {
            if (auto st = intake_.open_disk(o_.queue.path, o_.queue.max_disk_bytes, file_system_);
                !st)
                return st;
        }
        std::unique_ptr<transport> wire;
        if (grpc_) {
            if (!grpc_transport_) {
                return make_error(
                    "-exporter-protocol=otlp-grpc: the gRPC plugin is not loaded (this process "
                    "cannot make OTLP/gRPC calls)");
            }
            auto t = grpc_transport_(grpc_transport_options{
                .client = std::move(up->client),
                .metadata = std::move(up->metadata),
                .tenant_key = lower(o_.tenant_header),
                .reconnect_base = o_.retry_backoff_base,
                .reconnect_max = o_.retry_backoff_max,
                .post = [s = strand_](std::function<void()> f) { asio::post(s, std::move(f)); },
                .classify = classify_grpc,
                .gunzip = [](std::string_view gz, std::string& out) -> status {
                    // OTLP/gRPC sends OTLP protobuf only, whose compressed bodies are gzip.
                    if (auto st = decompress(payload_format::otlp_protobuf, gz, out); !st)
                        return make_error(st.error_message());
                    return {};
                }});
            if (!t) return make_error(t.error_message());
            wire = std::move(*t);
        } else {
            auto client = http_client::create(strand_, std::move(up->client));
            if (!client) return make_error(client.error_message());
            wire = std::make_unique<http_transport>(
                std::move(*client), std::move(up->request_template), clock_, o_.tenant_header);
        }
        delivery_ = std::make_unique<delivery>(
            strand_, std::move(wire),
            backoff_policy(o_.retry_backoff_base, o_.retry_backoff_max, std::move(random_)),
            o_.max_retry_time, delivery::collaborators{queue_, intake_.disk(), metrics_, clock_});
        batcher_ = std::make_unique<batcher>(
            batcher::settings{.batch_size = o_.batch_size,
                              .flush_interval = o_.flush_interval,
                              // gRPC compresses each message itself.
                              .compress = !grpc_,
                              .scaler = {.min_shards = shard_bound(o_.min_shards),
                                         .max_shards = shard_bound(o_.max_shards)}},
            queue_, epochs_, *delivery_, metrics_, closed_);

        work_.emplace(ioc_.get_executor());
        for (unsigned i = 0; i < io_threads_count_; ++i) {
            io_threads_.emplace_back([this] { run_io(); });
        }
        batcher_->start();
        logging::info(
            "exporter started",
            {{"endpoint", (target.tls ? "https://" : "http://") + target.host_header +
                              (grpc_ ? std::string() : target.target)},
             {"protocol", o_.protocol},
             {"native_histograms", o_.native_histograms},
             {"otlp_name_suffixes", o_.otlp_name_suffixes},
             {"batch_size", o_.batch_size},
             {"flush_interval_ms",
              std::chrono::duration_cast<std::chrono::milliseconds>(o_.flush_interval).count()},
             // The linger in effect: at most the flush interval.
             {"forward_linger_ms",
              std::chrono::duration_cast<std::chrono::milliseconds>(queue_.forward_linger())
                  .count()},
             {"max_conns", o_.max_conns},
             {"min_shards", o_.min_shards},
             {"max_shards", o_.max_shards},
             {"queue_max_bytes", queue_.max_bytes()},
             {"queue_path", o_.queue.path}});
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
        if (grpc_ && p == source_protocol::otlp_json) {
            return make_error(
                "OTLP/JSON input cannot be exported: the exporter speaks OTLP/gRPC "
                "(-exporter-protocol=otlp-grpc), which carries protobuf, and converting JSON to "
                "protobuf is not implemented; send OTLP protobuf");
        }
        if (otlp_ && otlp) return {};
        if (otlp_ && rw) {
            return make_error(
                "remote write input cannot be forwarded: the exporter speaks OTLP "
                "(-exporter-protocol=" +
                o_.protocol + ") and converting remote write to OTLP is not implemented");
        }
        return make_error("input protocol unknown to the exporter");
    }

    bool converts(source_protocol p) const { return !observe_only_ && !otlp_ && is_otlp(p); }

    submit_status submit(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip = {},
                         submit_details* details = nullptr, room_held* room = nullptr,
                         const tenant_split& tenants = {}) {
        if (closed_.load(std::memory_order_acquire) && (room == nullptr || room->bytes == 0))
            return submit_status::closed;
        if (keep.size() != batch.size() ||
            (!tenants.of.empty() && tenants.of.size() != keep.size())) {
            logging::error(
                "exporter: keep mask or tenants do not match the batch (a bug)",
                {{"keep", keep.size()}, {"tenants", tenants.of.size()}, {"series", batch.size()}});
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
        if ((room == nullptr || room->bytes == 0) && queue_.bytes() >= queue_.max_bytes())
            return intake_.refuse();
        // Held until the push: the lanes chosen and the epoch pushed with agree (lane_epochs.h).
        const auto ticket = epochs_.enter();
        auto& lanes = thread_lane_split();
        lanes.split(batch, keep, ticket.lanes());
        if (converts(batch.protocol()))
            return submit_converted(batch, keep, strip, details, lanes, room, tenants);

        lane_payloads out;
        const auto st = for_each_tenant<protocol::decode_status>(
            keep, tenants, out, [&](std::span<const std::uint8_t> part) {
                if (otlp_) return encode_otlp(batch, part, strip, lanes, out);
                const auto first = out.size();
                auto r = encode_prw(batch, part, strip, lanes, out);
                // All of a request that would go as it came on one shard (submit_raw): its parts
                // go promptly too, so more shards add no wait for a batch to fill.
                if (ticket.shards() > 1 && forwards_unchanged(batch, keep, strip))
                    for (auto k = first; k < out.size(); ++k) out[k].first.prompt = true;
                return r;
            });
        if (!st) {
            metrics_.error("encode");
            logging::error("exporter: cannot encode kept series (a bug)",
                           {{"error", st.error_message()}});
            return submit_status::unsupported;
        }
        return intake_.push(out, room);
    }

    // OTLP for a remote-write backend: the kept points become TimeSeries. The payload counts
    // what is sent (TimeSeries and samples), like any remote-write payload, so the exporter's
    // accounting and 413 splitting stay in one unit; the conversion itself is counted in OTLP
    // points (converted / conversion_dropped), once the submission is accepted.
    submit_status submit_converted(const protocol::series_batch& batch,
                                   std::span<const std::uint8_t> keep,
                                   std::span<const std::uint64_t> strip, submit_details* details,
                                   lane_split& lanes, room_held* room,
                                   const tenant_split& tenants) {
        // Native histograms only when the operator says the backend stores them
        // (-exporter-native-histograms, docs/export.md): otherwise a backend refuses a request
        // carrying one with a 500 (Prometheus without --enable-feature=native-histograms:
        // retried forever, the queue fills) or drops them silently (VictoriaMetrics 1.79).
        // Points not converted are counted below.
        protocol::prw_conversion_options options;
        options.native_histograms = o_.native_histograms;
        options.name_suffixes = o_.otlp_name_suffixes;
        protocol::prw_conversion_result r;
        lane_payloads out;
        const auto st =
            for_each_tenant<status>(keep, tenants, out, [&](std::span<const std::uint8_t> part) {
                return convert_to_prw(batch, part, strip, options, lanes, out, r);
            });
        if (!st) {
            metrics_.error("encode");
            logging::error("exporter: cannot convert kept OTLP points (a bug)",
                           {{"error", st.error_message()}});
            return submit_status::unsupported;
        }
        const submit_status result =
            out.empty() ? submit_status::accepted : intake_.push(out, room);
        if (result != submit_status::accepted) return result;  // the sender retries all of it
        metrics_.converted(r);
        const std::uint64_t unconverted = r.points_dropped();
        if (unconverted != 0) {
            bool first_of_reason = false;
            for (std::size_t i = 0; i < r.dropped.size(); ++i) {
                if (r.dropped[i] == 0) continue;
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
        if (details != nullptr) {
            details->unconverted_points = unconverted;
            details->message = std::move(r.first_drop);
        }
        return submit_status::accepted;
    }

    // batch: the request's series (its body decoded), for their lanes; without it the body goes
    // raw only on one shard.
    submit_status submit_raw(std::string body, source_protocol proto, body_encoding enc,
                             std::uint32_t series, std::uint64_t points, room_held* room = nullptr,
                             const protocol::series_batch* batch = nullptr,
                             std::string_view tenant = {}) {
        if (closed_.load(std::memory_order_acquire) && (room == nullptr || room->bytes == 0))
            return submit_status::closed;
        if (observe_only_) return discard(points);
        if (!check_source(proto) || converts(proto)) return submit_status::unsupported;
        payload p;
        p.series = series;
        p.points = points;
        p.body = std::move(body);
        p.tenant = tenant;
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
        // A request goes as it came when its series travel one lane: always on one shard; with
        // more, when the lane map puts them all on one (new series take their request's lane).
        const auto ticket = epochs_.enter();
        std::uint32_t lane = 0;
        if (ticket.shards() != 1) {
            if (batch == nullptr || batch->size() != series) return submit_status::not_raw;
            thread_local std::vector<std::uint8_t> all;
            all.assign(batch->size(), 1);
            auto& lanes = thread_lane_split();
            lanes.split(*batch, all, ticket.lanes());
            if (lanes.used().size() != 1) return submit_status::not_raw;
            lane = lanes.used().front();
        }
        lane_payloads out;
        out.emplace_back(std::move(p), lane_ref{lane, ticket.epoch()});
        return intake_.push(out, room);
    }

    bool can_forward_raw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                         std::span<const std::uint64_t> strip) const {
        return forwards_unchanged(batch, keep, strip);
    }

    // The one rule of the raw path: the request's own bytes are what the backend would get from
    // us (whatever the shard count): every series kept, no label stripped, a protocol forwarded
    // as is (remote write 1.0, OTLP protobuf or JSON, unless converted) and labels sorted on the
    // wire.
    bool forwards_unchanged(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                            std::span<const std::uint64_t> strip) const {
        const auto p = batch.protocol();
        const bool forwardable = p == source_protocol::remote_write_v1 ||
                                 p == source_protocol::otlp_protobuf ||
                                 p == source_protocol::otlp_json;
        const auto zero = [](auto v) { return v == 0; };
        return forwardable && !converts(p) && !batch.any_labels_unsorted() &&
               keep.size() == batch.size() && std::none_of(keep.begin(), keep.end(), zero) &&
               std::all_of(strip.begin(), strip.end(), zero);
    }

    submit_status reserve(std::uint64_t bytes, room_held& out) {
        out.bytes = 0;
        if (observe_only_) return submit_status::accepted;
        return intake_.reserve(bytes, out);
    }

    void unreserve(std::uint64_t bytes) { intake_.unreserve(bytes); }

    std::uint32_t shards() const { return queue_.shards().shards; }

    // ---- shutdown ---------------------------------------------------------------------------

    drain_report drain(std::chrono::steady_clock::time_point deadline) {
        if (drained_) return {};
        drained_ = true;
        closed_.store(true, std::memory_order_release);
        drain_report report;
        if (observe_only_ || !delivery_) return report;

        const auto before = metrics_.shutdown_drops();
        queue_.flush_now();
        queue_.close();
        if (!queue_.wait_empty(deadline)) {
            report.complete = false;
            report.bytes_left = queue_.bytes();
            delivery_->abort();
            // With a disk queue what is left stays outstanding: it is on disk for the next start.
            for (auto& p : queue_.abort()) {
                if (intake_.disk() == nullptr) metrics_.dropped(p.series, p.points, "shutdown");
            }
        }
        batcher_->join();
        delivery_->wait_idle();
        work_.reset();
        for (auto& t : io_threads_) t.join();
        io_threads_.clear();
        metrics_.set_queue_bytes(queue_.bytes());

        const auto after = metrics_.shutdown_drops();
        report.series_left = after.first - before.first;
        report.points_left = after.second - before.second;
        if (const auto* disk = intake_.disk()) {
            const auto s = metrics_.snapshot();
            report.complete = true;
            report.series_left = s.outstanding_series;
            report.points_left = s.outstanding_points;
            report.disk_bytes_left = disk->bytes();
            metrics_.set_disk_bytes(report.disk_bytes_left);
            if (s.outstanding_series != 0) {
                logging::warn("exporter drain deadline passed: undelivered data kept on disk",
                              {{"path", o_.queue.path},
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
        const auto s = std::chrono::ceil<std::chrono::seconds>(o_.flush_interval);
        return std::max(std::chrono::seconds(1), s);
    }
    bool observe_only() const { return observe_only_; }
    std::uint64_t queue_bytes() const { return queue_.bytes(); }
    std::uint64_t queue_max_bytes() const { return queue_.max_bytes(); }

    export_stats stats() const {
        export_stats s = metrics_.snapshot();
        s.connections_opened = delivery_ ? delivery_->connections_opened() : 0;
        s.lane_map_series = epochs_.mapped_series();
        s.lane_map_renewals = epochs_.renewals();
        if (const auto* disk = intake_.disk()) {
            s.disk_bytes = disk->bytes();
            s.disk_corrupt = disk->corrupt();
        }
        return s;
    }

  private:
    submit_status discard(std::uint64_t points) {
        metrics_.discarded(points);
        return submit_status::accepted;
    }

    void run_io() {
        for (;;) {
            try {
                ioc_.run();
                return;
            } catch (const std::exception& e) {
                metrics_.error("internal");
                logging::error("exporter io thread: unexpected exception", {{"error", e.what()}});
            }
        }
    }

    // Settings and collaborators (immutable after init()).
    const exporter_options o_;
    const bool observe_only_;
    const bool otlp_;  // otlp or otlp-grpc
    const bool grpc_;  // otlp-grpc
    mg::clock& clock_;
    mg::file_system& file_system_;           // the disk queue's
    random_source random_;                   // backoff jitter; moved into the delivery by init()
    grpc_transport_factory grpc_transport_;  // -exporter-protocol=otlp-grpc's transport
    std::atomic<bool> closed_{false};        // drain() began

    export_metrics metrics_;
    export_queue queue_;
    lane_epochs epochs_;  // the lane map of each epoch; every push holds a ticket
    intake intake_;  // owns the disk queue: before the delivery, which acknowledges its records
    const unsigned io_threads_count_;

    asio::io_context ioc_;
    http_client::strand strand_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    // Null in observe-only mode; set in init(). Declared after what they use.
    std::unique_ptr<delivery> delivery_;
    std::unique_ptr<batcher> batcher_;
    std::vector<std::thread> io_threads_;

    std::atomic<unsigned> warned_reasons_{0};  // prw_conversion_drop reasons logged at warn
    bool drained_ = false;                     // control thread only
};

// ---- public wrapper ---------------------------------------------------------------------------

status exporter::check_settings(const exporter_options& o) {
    return check_options(o);
}

result<std::unique_ptr<exporter>> exporter::create(const exporter_options& o,
                                                   prometheus::Registry& registry,
                                                   exporter_deps deps) {
    if (auto st = check_settings(o); !st) return make_error(st.error_message());
    auto p = std::make_unique<impl>(o, registry, std::move(deps));
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
submit_status exporter::submit(const protocol::series_batch& batch,
                               std::span<const std::uint8_t> keep,
                               std::span<const std::uint64_t> strip_masks) {
    return impl_->submit(batch, keep, strip_masks);
}
submit_status exporter::submit(const protocol::series_batch& batch,
                               std::span<const std::uint8_t> keep,
                               std::span<const std::uint64_t> strip_masks, submit_details& details,
                               reservation* room, const tenant_split& tenants) {
    details = submit_details{};
    if (room == nullptr || !room->held())
        return impl_->submit(batch, keep, strip_masks, &details, nullptr, tenants);
    room_held st{room->bytes_};
    const auto r = impl_->submit(batch, keep, strip_masks, &details, &st, tenants);
    room->bytes_ = st.bytes;
    return r;
}
submit_status exporter::reserve(std::uint64_t bytes, reservation& out) {
    out = reservation{};
    room_held st;
    const auto r = impl_->reserve(bytes, st);
    if (r == submit_status::accepted) {
        out.owner_ = this;
        out.bytes_ = st.bytes;
    }
    return r;
}
void exporter::unreserve(std::uint64_t bytes) {
    impl_->unreserve(bytes);
}
bool exporter::can_forward_raw(const protocol::series_batch& batch,
                               std::span<const std::uint8_t> keep,
                               std::span<const std::uint64_t> strip_masks) const {
    return impl_->can_forward_raw(batch, keep, strip_masks);
}
std::uint32_t exporter::shards() const {
    return impl_->shards();
}

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
                                   std::uint32_t series, std::uint64_t points, reservation* room,
                                   std::string_view tenant) {
    if (room == nullptr || !room->held())
        return impl_->submit_raw(std::move(body), p, enc, series, points, nullptr, nullptr, tenant);
    room_held st{room->bytes_};
    const auto r = impl_->submit_raw(std::move(body), p, enc, series, points, &st, nullptr, tenant);
    room->bytes_ = st.bytes;
    return r;
}
submit_status exporter::submit_raw(std::string body, const protocol::series_batch& batch,
                                   body_encoding enc, std::uint32_t series, std::uint64_t points,
                                   reservation* room, std::string_view tenant) {
    if (room == nullptr || !room->held())
        return impl_->submit_raw(std::move(body), batch.protocol(), enc, series, points, nullptr,
                                 &batch, tenant);
    room_held st{room->bytes_};
    const auto r = impl_->submit_raw(std::move(body), batch.protocol(), enc, series, points, &st,
                                     &batch, tenant);
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
