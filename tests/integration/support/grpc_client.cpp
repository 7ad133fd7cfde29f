#include "support/grpc_client.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "grpc_ingest/byte_buffer_access.h"

namespace mg::test {

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

grpc::ChannelArguments channel_args() {
    grpc::ChannelArguments args;
    // Big messages go out (the hostile tests send 100 MB); what comes back is small.
    args.SetMaxSendMessageSize(-1);
    // Each client its own connection, so tests do not share one through gRPC's subchannel pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return args;
}

void prepare(grpc::ClientContext& ctx, const grpc_call_options& options) {
    ctx.set_deadline(std::chrono::system_clock::now() + options.deadline);
    if (!options.authorization.empty()) ctx.AddMetadata("authorization", options.authorization);
    for (const auto& [key, value] : options.metadata) ctx.AddMetadata(key, value);
    if (options.gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
}

grpc_answer answer_of(const grpc::Status& st, grpc::ByteBuffer& response) {
    grpc_answer a;
    a.code = st.error_code();
    a.message = st.error_message();
    a.details = st.error_details();
    if (st.ok() && response.Valid()) {
        grpc::Slice s;
        if (response.DumpToSingleSlice(&s).ok())
            a.body.assign(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return a;
}

// Waits for one callback-API call to end.
struct call_wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    void finish(grpc::Status st) {
        std::lock_guard lock(mu);
        status = std::move(st);
        done = true;
        cv.notify_all();
    }
    grpc::Status wait() {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return done; });
        return status;
    }
};

}  // namespace

otlp_grpc_client::otlp_grpc_client(unsigned short port)
    : channel_(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                         grpc::InsecureChannelCredentials(), channel_args())),
      stub_(std::make_unique<grpc::GenericStub>(channel_)) {}

otlp_grpc_client::otlp_grpc_client(unsigned short port, const grpc_tls& tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_all(tls.ca_file);
    if (!tls.cert_file.empty()) {
        ssl.pem_cert_chain = read_all(tls.cert_file);
        ssl.pem_private_key = read_all(tls.key_file);
    }
    channel_ = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                         grpc::SslCredentials(ssl), channel_args());
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
}

otlp_grpc_client::~otlp_grpc_client() = default;

grpc_answer otlp_grpc_client::call(std::string_view message, const grpc_call_options& options) {
    grpc::Slice slice(message.data(), message.size());
    grpc::ByteBuffer request(&slice, 1);
    return unary(request, options);
}

grpc_answer otlp_grpc_client::call_precompressed(std::string_view gzip_bytes,
                                                 const grpc_call_options& options) {
    grpc_slice slice = grpc_slice_from_copied_buffer(gzip_bytes.data(), gzip_bytes.size());
    grpc::ByteBuffer request;
    // A raw buffer marked compressed is sent as it is, flagged compressed (no second gzip).
    grpc_ingest::adopt_core_buffer(
        request, grpc_raw_compressed_byte_buffer_create(&slice, 1, GRPC_COMPRESS_GZIP));
    grpc_slice_unref(slice);
    auto opts = options;
    opts.gzip = true;  // grpc-encoding: gzip
    return unary(request, opts);
}

grpc_answer otlp_grpc_client::unary(grpc::ByteBuffer& request, const grpc_call_options& options) {
    grpc::ClientContext ctx;
    prepare(ctx, options);
    grpc::ByteBuffer response;
    call_wait w;
    stub_->UnaryCall(&ctx, options.method, grpc::StubOptions(), &request, &response,
                     [&w](grpc::Status st) { w.finish(std::move(st)); });
    const auto st = w.wait();
    return answer_of(st, response);
}

struct otlp_grpc_client::held_call::state final
    : grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
    void OnDone(const grpc::Status& st) override { ended.finish(st); }
    grpc::ClientContext ctx;
    call_wait ended;
};

otlp_grpc_client::held_call::held_call() : state_(std::make_unique<state>()) {}

otlp_grpc_client::held_call::~held_call() {
    state_->ctx.TryCancel();
    state_->ended.wait();
}

grpc_answer otlp_grpc_client::held_call::wait() {
    const auto st = state_->ended.wait();
    grpc::ByteBuffer none;
    return answer_of(st, none);
}

std::unique_ptr<otlp_grpc_client::held_call> otlp_grpc_client::hold_stream(
    std::chrono::milliseconds give_up, const grpc_call_options& options) {
    auto held = std::make_unique<held_call>();
    auto opts = options;
    opts.deadline = give_up;
    prepare(held->state_->ctx, opts);
    stub_->PrepareBidiStreamingCall(&held->state_->ctx, options.method, grpc::StubOptions(),
                                    held->state_.get());
    held->state_->StartCall();  // headers only: no message, no half-close
    return held;
}

}  // namespace mg::test
