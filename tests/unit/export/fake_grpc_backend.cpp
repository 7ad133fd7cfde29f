#include "fake_grpc_backend.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "protocol/wire.h"

namespace mg::exporter::test {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("fake_grpc_backend: cannot read " + path);
    return text.str();
}

std::string to_string(const grpc::ByteBuffer& b) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (!b.Dump(&slices).ok()) return out;
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
}

// One call: read the request, ask the backend, answer (or hold until cancelled).
class reactor final : public grpc::ServerGenericBidiReactor {
  public:
    reactor(grpc::GenericCallbackServerContext* ctx, fake_grpc_backend& backend)
        : ctx_(ctx), backend_(backend) {
        StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
        if (!ok) return finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message"));
        grpc_call c;
        c.method = ctx_->method();
        for (const auto& [k, v] : ctx_->client_metadata()) {
            c.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
        }
        c.body = to_string(request_);
        c.at = std::chrono::steady_clock::now();
        const grpc_answer a = backend_.record(std::move(c));
        if (a.hold) {
            held_.store(true);
            if (ctx_->IsCancelled()) finish(grpc::Status::CANCELLED);
            return;
        }
        const grpc::Status st(static_cast<grpc::StatusCode>(a.code), a.message, a.details);
        if (a.code != 0) return finish(st);
        grpc::Slice slice(a.response.data(), a.response.size());
        response_ = grpc::ByteBuffer(&slice, 1);
        if (!finished_.exchange(true)) StartWriteAndFinish(&response_, grpc::WriteOptions(), st);
    }

    void OnCancel() override {
        if (held_.load()) finish(grpc::Status::CANCELLED);
    }

    void OnDone() override { delete this; }

  private:
    void finish(const grpc::Status& st) {
        if (!finished_.exchange(true)) Finish(st);
    }

    grpc::GenericCallbackServerContext* ctx_;
    fake_grpc_backend& backend_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
    std::atomic<bool> held_{false};
    std::atomic<bool> finished_{false};
};

}  // namespace

class fake_grpc_backend::service final : public grpc::CallbackGenericService {
  public:
    explicit service(fake_grpc_backend& b) : backend_(b) {}
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* ctx) override {
        return new reactor(ctx, backend_);
    }
    fake_grpc_backend& backend_;
};

std::string grpc_call::meta(const std::string& key) const {
    const auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
}

grpc_responder grpc_always(int code) {
    return [code](const grpc_call&, std::size_t) {
        grpc_answer a;
        a.code = code;
        if (code != 0) a.message = "fake backend says no";
        return a;
    };
}

std::string retry_info_details(int code, std::chrono::milliseconds delay) {
    namespace pr = mg::protocol;
    std::string duration;
    pr::wire_writer d(duration);
    d.varint_field(1, static_cast<std::uint64_t>(delay.count() / 1000));
    d.varint_field(2, static_cast<std::uint64_t>((delay.count() % 1000) * 1000000));
    std::string info;
    pr::wire_writer(info).bytes_field(1, duration);
    std::string any;
    pr::wire_writer a(any);
    a.bytes_field(1, "type.googleapis.com/google.rpc.RetryInfo");
    a.bytes_field(2, info);
    std::string status;
    pr::wire_writer s(status);
    s.varint_field(1, static_cast<std::uint64_t>(code));
    s.bytes_field(2, "slow down");
    s.bytes_field(3, any);
    return status;
}

fake_grpc_backend::fake_grpc_backend(grpc_responder r, grpc_backend_options o)
    : responder_(std::move(r)),
      tls_(!o.cert_file.empty()),
      service_(std::make_unique<service>(*this)) {
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (tls_) {
        grpc::SslServerCredentialsOptions so(
            o.client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                     : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
        so.pem_key_cert_pairs.push_back({read_file(o.key_file), read_file(o.cert_file)});
        if (!o.client_ca_file.empty()) so.pem_root_certs = read_file(o.client_ca_file);
        creds = grpc::SslServerCredentials(so);
    }
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(o.port), creds, &bound);
    builder.RegisterCallbackGenericService(service_.get());
    if (o.max_receive_bytes >= 0) builder.SetMaxReceiveMessageSize(o.max_receive_bytes);
    server_ = builder.BuildAndStart();
    if (!server_ || bound == 0) throw std::runtime_error("fake_grpc_backend: cannot listen");
    port_ = static_cast<std::uint16_t>(bound);
}

fake_grpc_backend::~fake_grpc_backend() {
    // Held calls are cancelled by the deadline: Shutdown does not wait for them longer.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
}

std::string fake_grpc_backend::url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

grpc_answer fake_grpc_backend::record(grpc_call c) {
    std::size_t n = 0;
    {
        std::lock_guard lock(mu_);
        n = calls_.size();
        calls_.push_back(c);
    }
    cv_.notify_all();
    return responder_(c, n);
}

std::size_t fake_grpc_backend::count() const {
    std::lock_guard lock(mu_);
    return calls_.size();
}

std::vector<grpc_call> fake_grpc_backend::all() const {
    std::lock_guard lock(mu_);
    return calls_;
}

bool fake_grpc_backend::wait(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_.size() >= n; });
}

}  // namespace mg::exporter::test
