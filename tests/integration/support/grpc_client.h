// grpc_client: an OTLP/gRPC client for integration tests (and benchmarks) over gRPC's
// GenericStub: byte buffers, no generated code. One Export call at a time per method call,
// waited for; plaintext or TLS (with an optional client certificate). It can also misbehave in
// ways the hostile tests need: send a message flagged gzip that it never compressed itself (a
// compression bomb), call another method, or open a call and never send its message.
// Thread-safe as gRPC's channel is: calls may be made from several threads at once.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mg::test {

inline constexpr std::string_view k_otlp_export_method =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

struct grpc_answer {
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    std::string message;  // the status message
    std::string details;  // grpc-status-details-bin: a google.rpc.Status
    std::string body;     // the response message (OK only)
    bool ok() const { return code == grpc::StatusCode::OK; }
};

struct grpc_call_options {
    std::string authorization{};  // the `authorization` metadata; empty: none
    // More metadata, each pair one entry (a key may repeat); keys lower case.
    std::vector<std::pair<std::string, std::string>> metadata{};
    bool gzip = false;  // gRPC compresses the message (grpc-encoding: gzip)
    std::string method = std::string(k_otlp_export_method);
    std::chrono::milliseconds deadline{std::chrono::seconds(30)};
};

struct grpc_tls {
    std::string ca_file{};    // PEM CA the server's certificate must chain to
    std::string cert_file{};  // client certificate; empty: none
    std::string key_file{};
};

class otlp_grpc_client {
  public:
    explicit otlp_grpc_client(unsigned short port);
    otlp_grpc_client(unsigned short port, const grpc_tls& tls);
    ~otlp_grpc_client();

    // One unary call with `message` (an ExportMetricsServiceRequest, or any bytes).
    grpc_answer call(std::string_view message, const grpc_call_options& options = {});
    // The same, but `gzip_bytes` go out as they are, flagged compressed (grpc-encoding: gzip):
    // what a client sends when it compressed the message itself, or a bomb.
    grpc_answer call_precompressed(std::string_view gzip_bytes,
                                   const grpc_call_options& options = {});

    // A call opened without a message: it holds its stream until the server ends it, or
    // `give_up` passes (then DEADLINE_EXCEEDED). Returns once the call's headers are on their way;
    // a call made on this client after it reaches the server after it.
    class held_call;
    std::unique_ptr<held_call> hold_stream(std::chrono::milliseconds give_up,
                                           const grpc_call_options& options = {});

    grpc::Channel& channel() { return *channel_; }

  private:
    grpc_answer unary(grpc::ByteBuffer& request, const grpc_call_options& options);
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<grpc::GenericStub> stub_;
};

class otlp_grpc_client::held_call {
  public:
    held_call();
    ~held_call();  // cancels the call if it is still open, and waits for its end
    // How the call ended; waits for it.
    grpc_answer wait();

  private:
    friend class otlp_grpc_client;
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace mg::test
