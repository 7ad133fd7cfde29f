// connection: what a sender thread of the runner needs from its connection to the receiver - post
// a prepared body, get the answer's status and latency - whatever the transport: HTTP/1.1
// (http_connection, for prw and otlp) or gRPC over HTTP/2 (grpc_connection, for otlp-grpc).
//
// One sender thread owns one connection; implementations share nothing between instances, so
// there are no locks. Statuses are HTTP statuses for every transport (gRPC codes are mapped, see
// grpc_connection.h), so the report counts both alike.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/options.h"

namespace mg::loadgen {

struct post_outcome {
    int status = 0;                // 0: no answer (network error, see error)
    std::string error;             // what failed, for network errors
    std::uint64_t latency_ns = 0;  // write start to answer read, on the connection used
};

class connection {
  public:
    virtual ~connection() = default;
    // Posts `body` (which must stay alive during the call) and waits for the answer.
    virtual post_outcome post(std::string_view body) = 0;
    // Connections established so far (reconnections included).
    virtual std::uint64_t connections_opened() const = 0;
};

// The connection -protocol asks for, to the endpoints resolved once before the run (resolve()).
std::unique_ptr<connection> make_connection(
    const options& opts, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);

// Resolves the target's host and port once, before the run. Throws std::runtime_error.
std::vector<boost::asio::ip::tcp::endpoint> resolve(const http_target& target);

}  // namespace mg::loadgen
