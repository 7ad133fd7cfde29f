// grpc_connection: one HTTP/2 connection of the load generator for -protocol otlp-grpc, making
// unary OTLP/gRPC Export calls (k_otlp_grpc_method) with the prepared otlp bodies, uncompressed,
// through grpc::GenericStub (byte buffers: no generated code, no protoc).
//
// Blocking from the caller's point of view: each call runs on the connection's own completion
// queue, polled by the calling thread until the call ends. One sender thread owns one
// connection and nothing is shared, so there are no locks.
//
// One channel per connection, with a local subchannel pool, so that every -concurrency
// connection is its own HTTP/2 connection (channels with equal arguments would otherwise share
// one). The channel connects before a call and the latency is measured from the call's start to
// its status, as the HTTP path measures from write to answer (connecting is not in it). The
// -timeout bounds the connect and is the call's deadline.
//
// Statuses are mapped to HTTP statuses so that the report counts both transports alike:
// OK 200, RESOURCE_EXHAUSTED 429 (refused), the other codes their usual HTTP equivalent
// (grpc_http_status). No answer - the connection failed or was lost (UNAVAILABLE while the
// channel is not READY), the deadline passed, the call was cancelled - is a network error, as
// on the HTTP path. Nothing is retried (gRPC retries are turned off).
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/status.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/connection.h"
#include "loadgen/options.h"

namespace mg::loadgen {

class grpc_connection final : public connection {
  public:
    grpc_connection(const http_target& target,
                    const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
                    std::chrono::nanoseconds timeout);
    ~grpc_connection() override;
    grpc_connection(const grpc_connection&) = delete;
    grpc_connection& operator=(const grpc_connection&) = delete;

    post_outcome post(std::string_view body) override;
    // Connections this sender saw established (a reconnection in the background between two
    // calls is not seen).
    std::uint64_t connections_opened() const override { return opened_; }

  private:
    // Waits until the channel is READY; the problem when it is not within the timeout or
    // it failed to connect.
    std::optional<std::string> connect();

    std::string channel_target_;  // grpc_target_of(endpoints)
    std::shared_ptr<grpc::Channel> channel_;
    grpc::GenericStub stub_;
    grpc::CompletionQueue cq_;
    std::string method_;
    std::chrono::nanoseconds timeout_;
    std::uint64_t opened_ = 0;
};

// The HTTP status a gRPC status code counts as in the report (see the header comment).
int grpc_http_status(grpc::StatusCode code);

// The gRPC target for the endpoints resolved before the run: "ipv4:a:p,b:p" or "ipv6:[a]:p,...",
// every endpoint of the first endpoint's family, tried in order (as the HTTP path does).
std::string grpc_target_of(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);

}  // namespace mg::loadgen
