// grpc_listener: the OTLP/gRPC listener as the daemon sees it (-grpc-listen, default :4317): its
// options and an interface of three calls. The implementation (grpc_receiver.h) lives in the gRPC
// plugin (src/grpc_plugin), which the daemon loads only when gRPC is configured; this header is
// all the daemon includes of it. Header only: no gRPC type, no code to link.
//
// Threading: start() and the drain are called from main's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mg::grpc_ingest {

inline constexpr std::string_view k_export_method =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

struct grpc_options {
    std::string listen = ":4317";  // host:port (config/listen_address.h); empty: no listener
    // `listen` as gRPC binds it ("[::]:4317", "127.0.0.1:0") and its host as start() reports it
    // ("" for any, brackets around IPv6): the daemon parses the address (listen_address.h).
    std::string bind_address;
    std::string bind_host;
    std::uint64_t max_message_size = 64ULL * 1024 * 1024;  // compressed and decompressed
    int max_concurrent_streams = 100;                      // per connection
    std::chrono::nanoseconds keepalive_time = std::chrono::hours(2);
    std::chrono::nanoseconds keepalive_timeout = std::chrono::seconds(20);
    std::chrono::nanoseconds max_connection_idle = std::chrono::minutes(5);
    // The handshake, and a call's message from the call's start.
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
    // PEM files of the ingest listeners' TLS (http/tls.h names); empty cert: plaintext.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
};

class grpc_listener {
  public:
    virtual ~grpc_listener() = default;
    // Binds and starts serving; the bound "host:port" (the port chosen when 0 was asked for).
    // Fails, naming the address or the file, when it cannot bind or read the TLS files.
    virtual result<std::string> start() = 0;
    // New calls get UNAVAILABLE from now on; calls in flight go on.
    virtual void begin_drain() = 0;
    // Waits until the calls in flight are answered or the deadline passes, then stops the server
    // (cancelling what is left). True when nothing was left.
    virtual bool finish_drain(std::chrono::steady_clock::time_point deadline) = 0;
};

}  // namespace mg::grpc_ingest
