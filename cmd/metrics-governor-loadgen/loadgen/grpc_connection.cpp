#include "loadgen/grpc_connection.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/slice.h>

#include <stdexcept>

namespace mg::loadgen {

namespace {

// A short reconnect backoff: after a failed connect, calls fail fast (as a refused HTTP connect
// does) until the channel reconnects, which it should do soon once the receiver is back.
constexpr int k_min_reconnect_backoff_ms = 100;
constexpr int k_max_reconnect_backoff_ms = 1000;

std::uint64_t since_ns(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
}

std::chrono::system_clock::time_point deadline_after(std::chrono::nanoseconds timeout) {
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout);
}

}  // namespace

int grpc_http_status(grpc::StatusCode code) {
    switch (code) {
        case grpc::StatusCode::OK:
            return 200;
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return 429;
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::OUT_OF_RANGE:
            return 400;
        case grpc::StatusCode::UNAUTHENTICATED:
            return 401;
        case grpc::StatusCode::PERMISSION_DENIED:
            return 403;
        case grpc::StatusCode::NOT_FOUND:
            return 404;
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::ABORTED:
            return 409;
        case grpc::StatusCode::CANCELLED:
            return 499;
        case grpc::StatusCode::UNIMPLEMENTED:
            return 501;
        case grpc::StatusCode::UNAVAILABLE:
            return 503;
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return 504;
        default:  // UNKNOWN, INTERNAL, DATA_LOSS
            return 500;
    }
}

std::string grpc_target_of(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints) {
    if (endpoints.empty()) throw std::invalid_argument("grpc_target_of: no endpoint");
    const bool v6 = endpoints.front().address().is_v6();
    std::string out = v6 ? "ipv6:" : "ipv4:";
    const char* sep = "";
    for (const auto& e : endpoints) {
        if (e.address().is_v6() != v6) continue;
        const std::string addr = e.address().to_string();
        out += sep + (v6 ? "[" + addr + "]" : addr) + ":" + std::to_string(e.port());
        sep = ",";
    }
    return out;
}

namespace {

std::shared_ptr<grpc::Channel> make_channel(const http_target& target,
                                            const std::string& channel_target) {
    grpc::ChannelArguments args;
    // Its own subchannel (hence its own HTTP/2 connection) for every channel, even with equal
    // arguments: -concurrency connections must be that many connections.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // nothing is retried, as on the HTTP path
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, k_min_reconnect_backoff_ms);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, k_min_reconnect_backoff_ms);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, k_max_reconnect_backoff_ms);
    // The :authority the URL names, as the HTTP path sends it in Host.
    const bool v6 = target.host.find(':') != std::string::npos;
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY,
                   (v6 ? "[" + target.host + "]" : target.host) + ":" + target.port);
    args.SetUserAgentPrefix("metrics-governor-loadgen/0.1");
    return grpc::CreateCustomChannel(channel_target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

grpc_connection::grpc_connection(const http_target& target,
                                 const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
                                 std::chrono::nanoseconds timeout)
    : channel_target_(grpc_target_of(endpoints)),
      channel_(make_channel(target, channel_target_)),
      stub_(channel_),
      method_(target.path),
      timeout_(timeout) {}

grpc_connection::~grpc_connection() {
    // Every call has ended (post waits for its tag), so the queue drains at once.
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
}

std::optional<std::string> grpc_connection::connect() {
    auto state = channel_->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) return std::nullopt;
    const auto deadline = deadline_after(timeout_);
    while (state != GRPC_CHANNEL_READY) {
        // A failed connect fails the call at once, as a refused HTTP connect does; the channel
        // tries again in the background after its backoff.
        if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN)
            return "connect: cannot connect to " + channel_target_;
        if (!channel_->WaitForStateChange(state, deadline)) return "connect: timed out";
        state = channel_->GetState(/*try_to_connect=*/true);
    }
    ++opened_;
    return std::nullopt;
}

post_outcome grpc_connection::post(std::string_view body) {
    post_outcome out;
    if (auto problem = connect()) {
        out.error = std::move(*problem);
        return out;
    }
    // One copy into a slice gRPC owns: a call that ends early (deadline) may leave the transport
    // holding the request's slices after post() returns, when the caller's body may be gone.
    grpc::Slice slice(body.data(), body.size());
    const grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    grpc::ClientContext context;
    const auto t0 = std::chrono::steady_clock::now();
    context.set_deadline(deadline_after(timeout_));
    const auto call = stub_.PrepareUnaryCall(&context, method_, request, &cq_);
    call->StartCall();
    call->Finish(&response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    if (!cq_.Next(&tag, &ok)) {
        out.error = "call: the completion queue shut down";
        return out;
    }
    const grpc::StatusCode code = status.error_code();
    const bool no_answer = code == grpc::StatusCode::DEADLINE_EXCEEDED ||
                           code == grpc::StatusCode::CANCELLED ||
                           (code == grpc::StatusCode::UNAVAILABLE &&
                            channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY);
    if (no_answer) {
        out.error =
            "call: " + std::to_string(static_cast<int>(code)) + " " + status.error_message();
        return out;
    }
    out.latency_ns = since_ns(t0);
    out.status = grpc_http_status(code);
    return out;
}

}  // namespace mg::loadgen
