#include "grpc_export/grpc_transport.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_set>

namespace mg::exporter {

namespace {

// What a (non-binary) gRPC metadata value may hold.
bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

const std::string k_method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
int millis(std::chrono::nanoseconds d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return static_cast<int>(std::clamp<std::int64_t>(ms, 1, std::numeric_limits<int>::max()));
}

result<std::string> read_file(const std::string& path, const std::string& flag) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) return make_error(flag + ": cannot read \"" + path + "\"");
    return text.str();
}

result<std::shared_ptr<grpc::ChannelCredentials>> credentials(const tls_options& t) {
    std::string ca;
    std::string cert;
    std::string key;
    if (!t.ca_file.empty()) {
        auto r = read_file(t.ca_file, "-exporter-tls-ca-file");
        if (!r) return make_error(r.error_message());
        ca = std::move(*r);
    }
    if (!t.cert_file.empty()) {
        auto c = read_file(t.cert_file, "-exporter-tls-cert-file");
        if (!c) return make_error(c.error_message());
        auto k = read_file(t.key_file, "-exporter-tls-key-file");
        if (!k) return make_error(k.error_message());
        cert = std::move(*c);
        key = std::move(*k);
    }
    if (!t.insecure_skip_verify) {
        grpc::SslCredentialsOptions o;
        o.pem_root_certs = std::move(ca);
        o.pem_cert_chain = std::move(cert);
        o.pem_private_key = std::move(key);
        return grpc::SslCredentials(o);
    }
    // No verification of the server's certificate or name: the experimental TLS credentials are
    // gRPC's only way to say so.
    namespace gx = grpc::experimental;
    gx::TlsChannelCredentialsOptions o;
    if (!cert.empty()) {
        o.set_certificate_provider(std::make_shared<gx::StaticDataCertificateProvider>(
            std::vector<gx::IdentityKeyCertPair>{{std::move(key), std::move(cert)}}));
        o.watch_identity_key_cert_pairs();
    }
    o.set_verify_server_certs(false);
    o.set_check_call_host(false);
    o.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
    auto c = gx::TlsCredentials(o);
    if (!c) return make_error("-exporter-tls-insecure-skip-verify: gRPC refused the TLS options");
    return c;
}

class grpc_transport final : public transport {
  public:
    grpc_transport(grpc_transport_options o, std::shared_ptr<grpc::Channel> channel)
        : post_(std::move(o.post)),
          classify_(std::move(o.classify)),
          gunzip_(std::move(o.gunzip)),
          channel_(std::move(channel)),
          stub_(channel_),
          timeout_(o.client.timeout),
          metadata_(std::move(o.metadata)),
          tenant_key_(std::move(o.tenant_key)) {}

    // Every call ended (delivery waited for its callbacks); what is left are the last
    // references gRPC's threads drop after a completion, and completions still returning from
    // their post to the strand: the strand's copy in post() dies only when post() returns, and
    // it must die before the io_context (destroyed after us) does. The channel goes after them.
    ~grpc_transport() override {
        std::unique_lock lock(live_mu_);
        live_cv_.wait(lock, [&] { return live_ == 0 && completing_ == 0; });
    }

    void async_send(payload& p, callback done) override {
        if (p.format != payload_format::otlp_protobuf) {
            return done(
                refused("encode",
                        "OTLP/gRPC carries OTLP protobuf only (a payload queued for another "
                        "protocol, e.g. on disk before a change of -exporter-protocol)"));
        }
        const bool with_tenant = !tenant_key_.empty() && !p.tenant.empty();
        if (with_tenant && !printable_ascii(p.tenant)) {
            // gRPC metadata values are printable ASCII; a UTF-8 tenant cannot be carried.
            return done(refused("tenant",
                                "the payload's tenant is not printable ASCII, which gRPC metadata "
                                "cannot carry (use -exporter-protocol otlp for such tenants)"));
        }
        std::string plain;
        if (p.compressed) {
            // A forwarded gzip body or a split half: gRPC compresses the message itself.
            if (auto st = gunzip_(p.body, plain); !st)
                return done(
                    refused("encode", "cannot decompress the batch: " + st.error_message()));
        }
        auto c = std::make_shared<call>(*this);
        const std::string& bytes = p.compressed ? plain : p.body;
        grpc::Slice slice(bytes.data(), bytes.size());  // a copy: p.body stays delivery's
        c->request = grpc::ByteBuffer(&slice, 1);
        c->context.set_deadline(std::chrono::system_clock::now() +
                                std::chrono::duration_cast<std::chrono::microseconds>(timeout_));
        c->context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
        for (const auto& [key, value] : metadata_) {
            if (with_tenant && key == tenant_key_) continue;  // the payload's tenant instead
            c->context.AddMetadata(key, value);
        }
        if (with_tenant) c->context.AddMetadata(tenant_key_, p.tenant);
        c->done = std::move(done);
        in_flight_.insert(c.get());
        call* raw = c.get();
        {
            std::lock_guard lock(live_mu_);
            ++completing_;
        }
        // gRPC holds the only reference until the completion hands it to the strand. The
        // strand may run complete() (and the transport be destroyed) before post() returns on
        // gRPC's thread: completing_ keeps the transport, and so the io_context, until then.
        stub_.UnaryCall(
            &raw->context, k_method, grpc::StubOptions(), &raw->request, &raw->response,
            [this, c](grpc::Status st) mutable {
                post_([this, c = std::move(c), st = std::move(st)] { complete(*c, st); });
                std::lock_guard lock(live_mu_);
                --completing_;
                live_cv_.notify_all();
            });
    }

    void close_all() override {
        for (call* c : in_flight_) c->context.TryCancel();
    }

    std::uint64_t connections_opened() const override { return 1; }

  private:
    // A payload this transport cannot send (dropped, counted under `reason`).
    static send_outcome refused(std::string reason, std::string message) {
        send_outcome out;
        out.what = send_outcome::verdict::rejected;
        out.error_reason = std::move(reason);
        out.message = std::move(message);
        return out;
    }

    // One call; gRPC needs the context and both buffers until it completes.
    struct call {
        explicit call(grpc_transport& t) : owner(t) {
            std::lock_guard lock(owner.live_mu_);
            ++owner.live_;
        }
        ~call() {
            std::lock_guard lock(owner.live_mu_);
            --owner.live_;
            owner.live_cv_.notify_all();
        }
        call(const call&) = delete;
        call& operator=(const call&) = delete;

        grpc_transport& owner;
        grpc::ClientContext context;
        grpc::ByteBuffer request;
        grpc::ByteBuffer response;
        callback done;
    };

    // Strand only.
    void complete(call& c, const grpc::Status& st) {
        in_flight_.erase(&c);
        std::string response;
        if (st.ok()) {
            std::vector<grpc::Slice> slices;
            if (c.response.Dump(&slices).ok()) {
                for (const auto& s : slices) {
                    response.append(reinterpret_cast<const char*>(s.begin()), s.size());
                }
            }
        }
        auto done = std::move(c.done);
        done(classify_(static_cast<int>(st.error_code()), st.error_message(), st.error_details(),
                       response));
    }

    const std::function<void(std::function<void()>)> post_;
    const decltype(grpc_transport_options::classify) classify_;
    const decltype(grpc_transport_options::gunzip) gunzip_;
    std::shared_ptr<grpc::Channel> channel_;
    grpc::GenericStub stub_;
    const std::chrono::nanoseconds timeout_;
    const header_list metadata_;
    const std::string tenant_key_;         // lower case; empty: no tenant metadata
    std::unordered_set<call*> in_flight_;  // strand only

    std::mutex live_mu_;
    std::condition_variable live_cv_;
    unsigned live_ = 0;        // call objects not destroyed yet
    unsigned completing_ = 0;  // gRPC completions that have not returned yet
};

}  // namespace

result<std::unique_ptr<transport>> make_grpc_transport(grpc_transport_options options) {
    const auto& client = options.client;
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (client.target.tls) {
        auto c = credentials(client.tls);
        if (!c) return make_error(c.error_message());
        creds = std::move(*c);
    }
    grpc::ChannelArguments args;
    args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, std::string(k_user_agent));
    // Retries are delivery's (backoff, the retry budget, the queue): none inside gRPC.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, millis(options.reconnect_base));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, millis(options.reconnect_max));
    const auto& host = client.target.host;
    const std::string target =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + client.target.port;
    auto channel = grpc::CreateCustomChannel(target, creds, args);
    return std::unique_ptr<transport>(new grpc_transport(std::move(options), std::move(channel)));
}

}  // namespace mg::exporter
