// The OTLP/gRPC listener (grpc_receiver.h): the server, its generic service and one reactor per
// call.
#include "grpc_ingest/grpc_receiver.h"

#include <grpc/slice.h>
#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include "config/listen_address.h"
#include "grpc_ingest/byte_buffer_access.h"
#include "grpc_ingest/grpc_status.h"
#include "ingest/receiver_metrics.h"
#include "logging/log.h"
#include "protocol/grpc_codes.h"
#include "protocol/otlp.h"

namespace mg::grpc_ingest {

namespace {

using ingest::protocol_label;

int to_ms(std::chrono::nanoseconds d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return static_cast<int>(std::clamp<std::int64_t>(ms, 1, INT_MAX));
}

result<std::string> read_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    if (in) s << in.rdbuf();
    if (!in || s.str().empty())
        return make_error("cannot read the " + what + " \"" + path + "\" for the gRPC listener");
    return s.str();
}

// A call refused before its message is read: answered at once.
class refused_call final : public grpc::ServerGenericBidiReactor {
  public:
    explicit refused_call(const grpc::Status& st) { Finish(st); }
    void OnDone() override { delete this; }
};

// The call's read timeout: cancels the call unless it ended first. Shared with the alarm's
// callback, which may run after the call is gone.
class read_deadline {
  public:
    explicit read_deadline(grpc::ServerContextBase* ctx) : ctx_(ctx) {}
    void expire() {
        std::lock_guard lock(mu_);
        if (ctx_ != nullptr) ctx_->TryCancel();
    }
    void call_done() {
        std::lock_guard lock(mu_);
        ctx_ = nullptr;
    }

  private:
    std::mutex mu_;
    grpc::ServerContextBase* ctx_;
};

}  // namespace

class grpc_receiver::service final : public grpc::CallbackGenericService {
  public:
    service(const grpc_options& options, grpc_deps deps, ingest::receiver& receiver)
        : options_(options), deps_(std::move(deps)), receiver_(receiver) {}

    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

    void begin_drain() { draining_.store(true); }
    bool wait_idle(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mu_);
        return idle_.wait_until(lock, deadline, [this] { return in_flight_ == 0; });
    }

  private:
    class export_call;

    bool authorized(const grpc::GenericCallbackServerContext& ctx) const {
        if (!deps_.auth || !deps_.auth->enabled()) return true;
        const auto& md = ctx.client_metadata();
        const auto it = md.find("authorization");
        return it != md.end() &&
               deps_.auth->accepts(std::string_view(it->second.data(), it->second.size()));
    }
    void call_started() {
        std::lock_guard lock(mu_);
        ++in_flight_;
    }
    void call_ended() {
        std::lock_guard lock(mu_);
        if (--in_flight_ == 0) idle_.notify_all();
    }

    const grpc_options& options_;
    grpc_deps deps_;
    ingest::receiver& receiver_;
    std::atomic<bool> draining_{false};
    std::mutex mu_;
    std::condition_variable idle_;
    std::size_t in_flight_ = 0;
};

// One Export call: read the message (within the read timeout), hand it to the receiver, answer.
class grpc_receiver::service::export_call final : public grpc::ServerGenericBidiReactor {
  public:
    export_call(service& svc, grpc::GenericCallbackServerContext* ctx)
        : svc_(svc),
          ctx_(ctx),
          answer_(svc.receiver_.metrics()),
          deadline_(std::make_shared<read_deadline>(ctx)) {
        alarm_.Set(std::chrono::system_clock::now() + svc.options_.read_timeout,
                   [d = deadline_](bool fired) {
                       if (fired) d->expire();
                   });
        StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
        alarm_.Cancel();
        if (!ok) {
            // Cancelled (the read timeout, or the client), or half-closed with no message.
            return finish(ctx_->IsCancelled()
                              ? grpc::Status(grpc::StatusCode::CANCELLED,
                                             "no request message within the read timeout")
                              : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "no ExportMetricsServiceRequest message"));
        }
        grpc_byte_buffer* raw = core_buffer(request_);
        if (raw == nullptr || raw->type != GRPC_BB_RAW ||
            (raw->data.raw.compression != GRPC_COMPRESS_NONE &&
             raw->data.raw.compression != GRPC_COMPRESS_GZIP)) {
            return finish({grpc::StatusCode::UNIMPLEMENTED,
                           "unsupported message encoding; want gzip or none"});
        }
        const auto& slices = raw->data.raw.slice_buffer;
        if (svc_.deps_.inflight) {
            if (!svc_.deps_.inflight->try_acquire(slices.length)) {
                return finish(retry_later(
                    "too many request bytes in flight (-receiver-max-inflight-bytes); retry later",
                    std::chrono::seconds(1)));
            }
            held_ = slices.length;
        }
        std::vector<std::string_view> pieces;
        pieces.reserve(slices.count);
        for (std::size_t i = 0; i < slices.count; ++i) {
            const auto& s = slices.slices[i];
            pieces.emplace_back(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)),
                                GRPC_SLICE_LENGTH(s));
        }
        // The tenant metadata (source header): every value of its key, which gRPC gives in
        // lower case; read by export_otlp before it returns.
        std::vector<std::string_view> tenant_values;
        if (const auto& key = svc_.receiver_.tenants().metadata_key(); !key.empty()) {
            const auto [first, last] = ctx_->client_metadata().equal_range(key);
            for (auto it = first; it != last; ++it)
                tenant_values.emplace_back(it->second.data(), it->second.size());
        }
        // Answered at once, or in cluster mode from the governor's thread; either way gRPC calls
        // OnDone only after this reaction returned.
        svc_.receiver_.export_otlp(
            pieces, raw->data.raw.compression == GRPC_COMPRESS_GZIP,
            [this](ingest::otlp_result r) { on_result(r); }, tenant_values);
    }

    void OnDone() override {
        deadline_->call_done();
        auto& svc = svc_;
        delete this;
        svc.call_ended();
    }

  private:
    void on_result(const ingest::otlp_result& r) {
        const auto st = status_of(r);
        if (!st.ok()) return finish(st);
        release_budget();
        std::string body;
        protocol::encode_otlp_response_protobuf(r.rejected, r.message, body);
        grpc::Slice slice(std::move(body));
        response_ = grpc::ByteBuffer(&slice, 1);
        answer_(protocol_label::otlp_grpc, protocol::grpc_code_name(grpc::StatusCode::OK));
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }

    // Every answer but a success; nothing of this object is touched after Finish().
    void finish(const grpc::Status& st) {
        release_budget();
        answer_(protocol_label::otlp_grpc, protocol::grpc_code_name(st.error_code()));
        Finish(st);
    }

    void release_budget() {
        if (held_ != 0) svc_.deps_.inflight->release(std::exchange(held_, 0));
    }

    service& svc_;
    grpc::GenericCallbackServerContext* ctx_;
    ingest::answering answer_;
    std::shared_ptr<read_deadline> deadline_;
    grpc::Alarm alarm_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    std::uint64_t held_ = 0;  // bytes taken from the in-flight budget
};

grpc::ServerGenericBidiReactor* grpc_receiver::service::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
    if (ctx->method() != k_export_method) {
        return new refused_call({grpc::StatusCode::UNIMPLEMENTED,
                                 "unknown method " + ctx->method() + "; this server serves " +
                                     std::string(k_export_method)});
    }
    if (!authorized(*ctx)) {
        if (deps_.access_stats) deps_.access_stats->unauthorized();
        return new refused_call(
            {grpc::StatusCode::UNAUTHENTICATED,
             "missing or wrong credentials in the authorization metadata (Bearer or Basic)"});
    }
    call_started();
    if (draining_.load()) {
        call_ended();
        receiver_.metrics().request(protocol_label::otlp_grpc,
                                    protocol::grpc_code_name(grpc::StatusCode::UNAVAILABLE), 0);
        return new refused_call({grpc::StatusCode::UNAVAILABLE, "shutting down"});
    }
    return new export_call(*this, ctx);
}

grpc_receiver::grpc_receiver(grpc_options options, grpc_deps deps, ingest::receiver& receiver)
    : options_(std::move(options)),
      tls_{deps.tls_cert_file, deps.tls_key_file, deps.tls_client_ca_file},
      deps_inflight_limit_(deps.inflight ? deps.inflight->limit() : 0),
      service_(std::make_unique<service>(options_, std::move(deps), receiver)) {}

grpc_receiver::~grpc_receiver() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

result<std::string> grpc_receiver::start() {
    const auto where = config::parse_listen_address(options_.listen);
    if (!where.ok()) return make_error(where.error_message());
    const auto host =
        where->host.find(':') != std::string::npos ? "[" + where->host + "]" : where->host;
    const auto address =
        (host.empty() ? std::string("[::]") : host) + ":" + std::to_string(where->port);

    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (!tls_.cert_file.empty()) {
        auto cert = read_file(tls_.cert_file, "certificate file");
        auto key = read_file(tls_.key_file, "key file");
        if (!cert.ok()) return make_error(cert.error_message());
        if (!key.ok()) return make_error(key.error_message());
        grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
        ssl.pem_key_cert_pairs.push_back({*key, *cert});
        if (!tls_.client_ca_file.empty()) {
            auto ca = read_file(tls_.client_ca_file, "client CA file");
            if (!ca.ok()) return make_error(ca.error_message());
            ssl.pem_root_certs = *ca;
            ssl.client_certificate_request =
                GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
        }
        creds = grpc::SslServerCredentials(ssl);
    }

    grpc::ServerBuilder builder;
    if (deps_inflight_limit_ != 0) {
        // gRPC reads a whole message before checking its declared size against the limit, so
        // its transport memory is bounded by a quota instead: past it, gRPC stops reading and,
        // under pressure, closes connections. Sized as the ingest listeners' in-flight budget.
        grpc::ResourceQuota quota("metrics-governor-grpc");
        quota.Resize(static_cast<std::size_t>(deps_inflight_limit_));
        builder.SetResourceQuota(quota);
    }
    int port = 0;
    builder.AddListeningPort(address, creds, &port);
    builder.RegisterCallbackGenericService(service_.get());
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<std::uint64_t>(options_.max_message_size, INT_MAX)));
    // Messages reach us compressed; the receiver inflates them within the limit (see the header).
    builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
    builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, to_ms(options_.keepalive_time));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, to_ms(options_.keepalive_timeout));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               to_ms(options_.max_connection_idle));
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, to_ms(options_.read_timeout));
    server_ = builder.BuildAndStart();
    if (!server_ || port == 0) {
        server_.reset();
        return make_error("cannot listen on " + options_.listen + " (gRPC)");
    }
    return (host.empty() ? std::string() : host) + ":" + std::to_string(port);
}

void grpc_receiver::begin_drain() {
    service_->begin_drain();
}

bool grpc_receiver::finish_drain(std::chrono::steady_clock::time_point deadline) {
    const bool idle = service_->wait_idle(deadline);
    if (server_) {
        // Nothing is in flight (or the deadline passed): stop at once, cancelling what is left.
        server_->Shutdown(std::chrono::system_clock::now());
        server_.reset();
    }
    return idle;
}

}  // namespace mg::grpc_ingest
