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

#include "grpc_ingest/byte_buffer_access.h"

namespace mg::grpc_ingest {

namespace {

using ingest::grpc_answer;
using ingest::grpc_code;

grpc::Status status_of(grpc_answer a) {
    return {static_cast<grpc::StatusCode>(a.code), std::move(a.message), std::move(a.details)};
}

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
    service(const grpc_options& options, ingest::grpc_ingest_port& port)
        : options_(options), port_(port) {}

    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

    void begin_drain() { draining_.store(true); }
    bool wait_idle(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mu_);
        return idle_.wait_until(lock, deadline, [this] { return in_flight_ == 0; });
    }

  private:
    class export_call;

    bool authorized(const grpc::GenericCallbackServerContext& ctx) const {
        const auto& md = ctx.client_metadata();
        const auto it = md.find("authorization");
        return port_.authorize(it == md.end()
                                   ? std::nullopt
                                   : std::optional<std::string_view>(
                                         std::in_place, it->second.data(), it->second.size()));
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
    ingest::grpc_ingest_port& port_;
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
          started_(std::chrono::steady_clock::now()),
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
            return ctx_->IsCancelled()
                       ? finish(grpc_code::cancelled, "no request message within the read timeout")
                       : finish(grpc_code::invalid_argument,
                                "no ExportMetricsServiceRequest message");
        }
        grpc_byte_buffer* raw = core_buffer(request_);
        if (raw == nullptr || raw->type != GRPC_BB_RAW ||
            (raw->data.raw.compression != GRPC_COMPRESS_NONE &&
             raw->data.raw.compression != GRPC_COMPRESS_GZIP)) {
            return finish(grpc_code::unimplemented,
                          "unsupported message encoding; want gzip or none");
        }
        const auto& slices = raw->data.raw.slice_buffer;
        if (auto refused = svc_.port_.acquire(slices.length)) return finish(std::move(*refused));
        held_ = slices.length;
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
        if (const auto& key = svc_.port_.tenant_metadata_key(); !key.empty()) {
            const auto [first, last] = ctx_->client_metadata().equal_range(key);
            for (auto it = first; it != last; ++it)
                tenant_values.emplace_back(it->second.data(), it->second.size());
        }
        // Answered at once, or in cluster mode from the governor's thread; either way gRPC calls
        // OnDone only after this reaction returned.
        svc_.port_.export_otlp(pieces, raw->data.raw.compression == GRPC_COMPRESS_GZIP,
                               tenant_values, [this](grpc_answer a) { on_answer(std::move(a)); });
    }

    void OnDone() override {
        deadline_->call_done();
        auto& svc = svc_;
        delete this;
        svc.call_ended();
    }

  private:
    void on_answer(grpc_answer a) {
        if (a.code != grpc_code::ok) return finish(std::move(a));
        release_budget();
        grpc::Slice slice(std::move(a.body));
        response_ = grpc::ByteBuffer(&slice, 1);
        count(grpc_code::ok);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }

    // Every answer but a success; nothing of this object is touched after Finish().
    void finish(grpc_answer a) {
        release_budget();
        count(a.code);
        Finish(status_of(std::move(a)));
    }
    void finish(grpc_code code, std::string message) {
        grpc_answer a;
        a.code = code;
        a.message = std::move(message);
        finish(std::move(a));
    }

    void count(grpc_code code) {
        svc_.port_.count_answer(
            code,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    }

    void release_budget() { svc_.port_.release(std::exchange(held_, 0)); }

    service& svc_;
    grpc::GenericCallbackServerContext* ctx_;
    std::chrono::steady_clock::time_point started_;
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
        return new refused_call(
            {grpc::StatusCode::UNAUTHENTICATED,
             "missing or wrong credentials in the authorization metadata (Bearer or Basic)"});
    }
    call_started();
    if (draining_.load()) {
        call_ended();
        port_.count_answer(grpc_code::unavailable, 0);
        return new refused_call({grpc::StatusCode::UNAVAILABLE, "shutting down"});
    }
    return new export_call(*this, ctx);
}

grpc_receiver::grpc_receiver(grpc_options options, ingest::grpc_ingest_port& port)
    : options_(std::move(options)),
      port_(port),
      service_(std::make_unique<service>(options_, port)) {}

grpc_receiver::~grpc_receiver() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

result<std::string> grpc_receiver::start() {
    const auto& address = options_.bind_address;

    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (!options_.tls_cert_file.empty()) {
        auto cert = read_file(options_.tls_cert_file, "certificate file");
        auto key = read_file(options_.tls_key_file, "key file");
        if (!cert.ok()) return make_error(cert.error_message());
        if (!key.ok()) return make_error(key.error_message());
        grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
        ssl.pem_key_cert_pairs.push_back({*key, *cert});
        if (!options_.tls_client_ca_file.empty()) {
            auto ca = read_file(options_.tls_client_ca_file, "client CA file");
            if (!ca.ok()) return make_error(ca.error_message());
            ssl.pem_root_certs = *ca;
            ssl.client_certificate_request =
                GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
        }
        creds = grpc::SslServerCredentials(ssl);
    }

    grpc::ServerBuilder builder;
    if (const auto limit = port_.inflight_limit(); limit != 0) {
        // gRPC reads a whole message before checking its declared size against the limit, so
        // its transport memory is bounded by a quota instead: past it, gRPC stops reading and,
        // under pressure, closes connections. Sized as the ingest listeners' in-flight budget.
        grpc::ResourceQuota quota("metrics-governor-grpc");
        quota.Resize(static_cast<std::size_t>(limit));
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
    return options_.bind_host + ":" + std::to_string(port);
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
