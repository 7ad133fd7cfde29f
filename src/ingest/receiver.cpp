#include "ingest/receiver.h"

#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "ingest/govern_export.h"
#include "ingest/receiver_metrics.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write.h"

namespace mg::ingest {

namespace {

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

bhttp::status status_for(protocol::errc e) {
    return e == protocol::errc::too_large ? bhttp::status::payload_too_large
                                          : bhttp::status::bad_request;
}

// OTLP/HTTP's answer to an OTLP export's result.
http::response otlp_http_response(const http::request& req, source_protocol proto,
                                  const otlp_result& r) {
    using kind = otlp_result::kind;
    switch (r.k) {
        case kind::accepted:
            break;
        case kind::malformed:
            return text_response(req, bhttp::status::bad_request, r.message);
        case kind::too_large:
            return text_response(req, bhttp::status::payload_too_large, r.message);
        case kind::queue_full: {
            auto res = text_response(req, bhttp::status::too_many_requests, r.message);
            if (r.retry_after.count() > 0)
                res.set(bhttp::field::retry_after, std::to_string(r.retry_after.count()));
            return res;
        }
        case kind::unsupported:
            return text_response(req, bhttp::status::unsupported_media_type, r.message);
        case kind::shutting_down:
            return text_response(req, bhttp::status::service_unavailable, r.message);
        case kind::no_tenant:
            return text_response(req, bhttp::status::unauthorized, r.message);
    }
    if (proto == source_protocol::otlp_json) {
        return http::make_response(req, bhttp::status::ok,
                                   protocol::encode_otlp_response_json(r.rejected, r.message),
                                   http::k_json);
    }
    std::string pb;
    protocol::encode_otlp_response_protobuf(r.rejected, r.message, pb);
    return http::make_response(req, bhttp::status::ok, std::move(pb), "application/x-protobuf");
}

// Every value of the tenant header, one per occurrence of the field (Beast keeps repeated fields).
std::vector<std::string_view>& header_values(const http::request& req, std::string_view name,
                                             std::vector<std::string_view>& out) {
    out.clear();
    if (name.empty()) return out;
    const auto [first, last] = req.base().equal_range(name);
    for (auto it = first; it != last; ++it) out.push_back(it->value());
    return out;
}

// The HTTP answer to a request whose tenant was refused: 401 for a missing tenant header, else
// 400.
http::response tenant_refusal(const http::request& req, const tenant_outcome& t) {
    const bool unauthorized = t.k == tenant_outcome::kind::missing && t.header;
    return text_response(
        req, unauthorized ? bhttp::status::unauthorized : bhttp::status::bad_request, t.message);
}

// One process: the I/O thread's buffers, reused request after request.
request_work& thread_work() {
    thread_local request_work w;
    return w;
}

}  // namespace

// Cluster mode: the buffers of requests waiting for the cluster's answer. Reused, so a steady
// stream of requests allocates little; at most k_keep idle ones are kept.
class receiver::work_pool {
  public:
    std::shared_ptr<request_work> acquire() {
        std::unique_ptr<request_work> w;
        {
            std::lock_guard lock(mu_);
            if (!idle_.empty()) {
                w = std::move(idle_.back());
                idle_.pop_back();
            }
        }
        if (!w) w = std::make_unique<request_work>();
        return {w.release(), [this](request_work* p) { release(p); }};
    }

  private:
    static constexpr std::size_t k_keep = 256;
    void release(request_work* p) {
        std::unique_ptr<request_work> w(p);
        w->owned.reset();
        w->room = exporter::reservation{};
        std::lock_guard lock(mu_);
        if (idle_.size() < k_keep) idle_.push_back(std::move(w));
    }
    std::mutex mu_;
    std::vector<std::unique_ptr<request_work>> idle_;
};

receiver::receiver(receiver_options options, governor_port& governor, exporter_port& exporter,
                   prometheus::Registry& registry)
    : options_(options),
      tenants_(options.tenancy),
      governor_(governor),
      exporter_(exporter),
      metrics_(std::make_unique<receiver_metrics>(registry)),
      pool_(std::make_unique<work_pool>()) {}

receiver::~receiver() = default;

void receiver::add_routes(http::router& routes, bool otlp) {
    if (!governor_.asynchronous()) {
        auto rw = [this](const http::request& req) { return handle_remote_write(req); };
        routes.add(bhttp::verb::post, "/api/v1/write", rw);
        routes.add(bhttp::verb::post, "/write", rw);
        if (otlp)
            routes.add(bhttp::verb::post, "/v1/metrics",
                       [this](const http::request& req) { return handle_otlp(req); });
        return;
    }
    // Cluster mode: each request and its buffers live until the governor's answer comes.
    const auto owning = [this](auto handle) {
        return [this, handle](http::request&& req, http::responder done) {
            auto w = pool_->acquire();
            const auto& r = w->owned.emplace(std::move(req));
            handle(r, *w,
                   [w, done = std::move(done)](http::response res) { done(std::move(res)); });
        };
    };
    const auto rw = owning([this](const http::request& r, request_work& w, auto done) {
        remote_write(r, w, std::move(done));
    });
    routes.add_async(bhttp::verb::post, "/api/v1/write", rw);
    routes.add_async(bhttp::verb::post, "/write", rw);
    if (otlp) {
        routes.add_async(bhttp::verb::post, "/v1/metrics",
                         owning([this](const http::request& r, request_work& w, auto done) {
                             this->otlp(r, w, std::move(done));
                         }));
    }
}

http::response receiver::handle_remote_write(const http::request& req) {
    std::optional<http::response> res;
    remote_write(req, thread_work(), [&res](http::response r) { res = std::move(r); });
    if (!res) throw std::logic_error("handle_remote_write: the governor answers later; use routes");
    return std::move(*res);
}

http::response receiver::handle_otlp(const http::request& req) {
    std::optional<http::response> res;
    otlp(req, thread_work(), [&res](http::response r) { res = std::move(r); });
    if (!res) throw std::logic_error("handle_otlp: the governor answers later; use routes");
    return std::move(*res);
}

template <typename Finish>
void receiver::decide_then(request_work& w, Finish&& finish) {
    if (!governor_.asynchronous()) {
        // One process: no std::function, nothing allocated on the hot path.
        governor_.decide(w.refs, w.decisions);
        finish();
        return;
    }
    governor_.decide_async(w.refs, w.decisions,
                           std::function<void()>(std::forward<Finish>(finish)));
}

template <typename Done>
void receiver::remote_write(const http::request& req, request_work& w, Done&& done) {
    const answering answer(*metrics_);
    const auto reply = [&](source_protocol p, http::response res) {
        done(answer(p, std::move(res)));
    };
    auto proto = source_protocol::none;

    const auto ct = parse_content_type(req[bhttp::field::content_type]);
    if (!ct.media.empty() && ct.media != "application/x-protobuf") {
        return reply(proto, text_response(req, bhttp::status::unsupported_media_type,
                                          "unsupported Content-Type \"" +
                                              std::string(req[bhttp::field::content_type]) +
                                              "\"; remote write wants application/x-protobuf"));
    }
    if (ct.proto.empty() || ct.proto == "prometheus.WriteRequest") {
        proto = source_protocol::remote_write_v1;
    } else if (ct.proto == "io.prometheus.write.v2.Request") {
        proto = source_protocol::remote_write_v2;
    } else {
        return reply(proto, text_response(req, bhttp::status::unsupported_media_type,
                                          "unsupported remote write message \"" + ct.proto +
                                              "\"; want prometheus.WriteRequest or "
                                              "io.prometheus.write.v2.Request"));
    }
    const auto encoding = lower(req[bhttp::field::content_encoding]);
    if (!encoding.empty() && encoding != "snappy") {
        return reply(proto, text_response(req, bhttp::status::unsupported_media_type,
                                          "unsupported Content-Encoding \"" + encoding +
                                              "\"; remote write wants snappy"));
    }
    if (auto st = protocol::snappy_decode(req.body(), options_.max_body_size, w.decompressed);
        !st) {
        return reply(proto, text_response(req, status_for(st.code()),
                                          st.error_message()));  // "snappy: ..."
    }
    const auto st = proto == source_protocol::remote_write_v1
                        ? protocol::decode_remote_write_v1(w.decompressed, w.batch)
                        : protocol::decode_remote_write_v2(w.decompressed, w.batch);
    if (!st) return reply(proto, text_response(req, status_for(st.code()), st.error_message()));
    {
        thread_local std::vector<std::string_view> values;
        const auto t = tenants_.resolve(header_values(req, tenants_.metadata_key(), values),
                                        w.batch, w.tenants);
        if (!t.ok()) {
            metrics_->rejected(http_label(proto), t.reason());
            return reply(proto, tenant_refusal(req, t));
        }
    }
    metrics_->received(http_label(proto), w.batch.size(), w.batch.total_points());

    if (!govern_begin(options_, tenants_, governor_, exporter_, w, w.decompressed.size())) {
        metrics_->refused(http_label(proto), w.out.refused_reason, w.out.refused_points);
        return reply(proto, refusal(req, w.out));
    }
    decide_then(w, [this, &req, &w, answer, proto, done = std::forward<Done>(done)]() mutable {
        govern_end(exporter_, w, req.body(), exporter::body_encoding::snappy, overflow_);
        const auto& out = w.out;
        if (out.status != bhttp::status::ok) {
            metrics_->refused(http_label(proto), out.refused_reason, out.refused_points);
            return done(answer(proto, refusal(req, out)));
        }
        auto res = http::make_response(req, bhttp::status::no_content, "");
        if (proto == source_protocol::remote_write_v2) {
            res.set("X-Prometheus-Remote-Write-Samples-Written", std::to_string(out.kept_samples));
            res.set("X-Prometheus-Remote-Write-Histograms-Written",
                    std::to_string(out.kept_histograms));
            res.set("X-Prometheus-Remote-Write-Exemplars-Written",
                    std::to_string(out.kept_exemplars));
        }
        done(answer(proto, std::move(res)));
    });
}

template <typename Done>
void receiver::otlp(const http::request& req, request_work& w, Done&& done) {
    const answering answer(*metrics_);
    auto proto = source_protocol::none;

    const auto ct = parse_content_type(req[bhttp::field::content_type]);
    if (ct.media == "application/x-protobuf") {
        proto = source_protocol::otlp_protobuf;
    } else if (ct.media == "application/json") {
        proto = source_protocol::otlp_json;
    } else {
        return done(answer(proto, text_response(req, bhttp::status::unsupported_media_type,
                                                "unsupported Content-Type \"" +
                                                    std::string(req[bhttp::field::content_type]) +
                                                    "\"; OTLP/HTTP wants application/x-protobuf "
                                                    "or application/json")));
    }
    const auto encoding = lower(req[bhttp::field::content_encoding]);
    if (!encoding.empty() && encoding != "gzip" && encoding != "identity") {
        return done(answer(proto, text_response(req, bhttp::status::unsupported_media_type,
                                                "unsupported Content-Encoding \"" + encoding +
                                                    "\"; want gzip or none")));
    }
    thread_local std::vector<std::string_view> values;
    otlp_core(proto, http_label(proto), req.body(), encoding == "gzip",
              header_values(req, tenants_.metadata_key(), values), w,
              [&req, answer, proto, done = std::forward<Done>(done)](const otlp_result& r) mutable {
                  done(answer(proto, otlp_http_response(req, proto, r)));
              });
}

template <typename Done>
void receiver::otlp_core(source_protocol proto, protocol_label label, std::string_view raw,
                         bool gzip, std::span<const std::string_view> tenant_values,
                         request_work& w, Done&& done) {
    using kind = otlp_result::kind;
    const auto fail = [&](const protocol::decode_status& st) {
        done(otlp_result{
            .k = st.code() == protocol::errc::too_large ? kind::too_large : kind::malformed,
            .message = std::string(st.error_message())});
    };
    std::string_view body = raw;
    if (gzip) {
        if (auto st = protocol::gzip_decode(raw, options_.max_body_size, w.decompressed); !st)
            return fail(st);  // "gzip: ..."
        body = w.decompressed;
    }
    const auto st =
        proto == source_protocol::otlp_protobuf
            ? protocol::decode_otlp_protobuf(body, w.batch)
            : protocol::decode_otlp_json(body, w.json, w.batch,
                                         protocol::otlp_json_limits{64, options_.max_body_size});
    if (!st) return fail(st);
    if (const auto t = tenants_.resolve(tenant_values, w.batch, w.tenants); !t.ok()) {
        metrics_->rejected(label, t.reason());
        const bool unauthenticated = t.k == tenant_outcome::kind::missing && t.header;
        return done(otlp_result{.k = unauthenticated ? kind::no_tenant : kind::malformed,
                                .message = t.message});
    }
    metrics_->received(label, w.batch.size(), w.batch.total_points());

    const auto refused = [this, label](const outcome& out) {
        metrics_->refused(label, out.refused_reason, out.refused_points);
        const auto k = out.refused_reason == "queue_full"    ? kind::queue_full
                       : out.refused_reason == "unsupported" ? kind::unsupported
                                                             : kind::shutting_down;
        return otlp_result{.k = k, .message = out.message, .retry_after = out.retry_after};
    };
    if (!govern_begin(options_, tenants_, governor_, exporter_, w, body.size()))
        return done(refused(w.out));
    const auto raw_encoding =
        gzip ? exporter::body_encoding::gzip : exporter::body_encoding::identity;
    decide_then(
        w, [this, raw, &w, refused, raw_encoding, done = std::forward<Done>(done)]() mutable {
            govern_end(exporter_, w, raw, raw_encoding, overflow_);
            const auto& out = w.out;
            if (out.status != bhttp::status::ok) return done(refused(out));
            std::string message = out.dropped_points == 0
                                      ? std::string()
                                      : std::to_string(out.dropped_points) +
                                            " data points dropped by metrics-governor limits";
            if (out.unconverted_points != 0) {
                message += (message.empty() ? "" : "; ") + std::to_string(out.unconverted_points) +
                           " data points cannot be converted to Prometheus remote write (first: " +
                           out.unconverted_message + ")";
            }
            done(otlp_result{
                .k = kind::accepted,
                .rejected = static_cast<std::int64_t>(out.dropped_points + out.unconverted_points),
                .message = std::move(message)});
        });
}

void receiver::export_otlp(std::span<const std::string_view> pieces, bool gzip,
                           std::function<void(otlp_result)> done,
                           std::span<const std::string_view> tenant_values) {
    const auto run = [&](request_work& w, auto&& finish) {
        std::string_view raw;
        if (pieces.size() == 1) {
            raw = pieces.front();
        } else {
            // Several slices: one contiguous copy, in the request's reused buffer.
            w.joined.clear();
            for (const auto p : pieces) w.joined.append(p);
            raw = w.joined;
        }
        otlp_core(source_protocol::otlp_protobuf, protocol_label::otlp_grpc, raw, gzip,
                  tenant_values, w, std::forward<decltype(finish)>(finish));
    };
    if (!governor_.asynchronous()) return run(thread_work(), std::move(done));
    // Cluster mode: the request's buffers live until the governor's answer comes.
    auto w = pool_->acquire();
    run(*w, [w, done = std::move(done)](otlp_result r) { done(std::move(r)); });
}

}  // namespace mg::ingest
