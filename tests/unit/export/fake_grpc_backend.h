// fake_grpc_backend: an in-process OTLP/gRPC backend for the exporter tests: a grpc::Server on
// 127.0.0.1 (port 0, or a given port to come back on) with a grpc::CallbackGenericService that
// records every call (method, metadata, the message as gRPC decompressed it, arrival time) and
// answers each through a test-supplied responder: a status code, message and serialized
// google.rpc.Status details, and the response message for OK, or no answer at all (held until
// the client gives up: its deadline). Optionally TLS, optionally requiring a client certificate,
// optionally with a small receive limit (to provoke "message larger than max").
// wait() blocks on a condition variable until n calls arrived or the timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace grpc {
class Server;
}

namespace mg::exporter::test {

struct grpc_call {
    std::string method;
    std::multimap<std::string, std::string> metadata;
    std::string body;
    std::chrono::steady_clock::time_point at;

    // The first value of a metadata key ("" when absent).
    std::string meta(const std::string& key) const;
};

struct grpc_answer {
    int code = 0;  // grpc::StatusCode
    std::string message;
    std::string details;   // serialized google.rpc.Status (grpc-status-details-bin)
    std::string response;  // OK: the ExportMetricsServiceResponse bytes
    bool hold = false;     // never answer: the call ends when the client cancels it
};

// Answers call number n (0-based) of the backend.
using grpc_responder = std::function<grpc_answer(const grpc_call&, std::size_t n)>;

grpc_responder grpc_always(int code);

// google.rpc.Status{code, message, details: [RetryInfo{retry_delay}]}, serialized.
std::string retry_info_details(int code, std::chrono::milliseconds delay);

struct grpc_backend_options {
    std::uint16_t port = 0;
    std::string cert_file;  // TLS when set
    std::string key_file;
    std::string client_ca_file;  // requires and verifies a client certificate when set
    int max_receive_bytes = -1;  // gRPC's default (4 MiB) when -1
};

class fake_grpc_backend {
  public:
    explicit fake_grpc_backend(grpc_responder r = grpc_always(0), grpc_backend_options o = {});
    ~fake_grpc_backend();
    fake_grpc_backend(const fake_grpc_backend&) = delete;
    fake_grpc_backend& operator=(const fake_grpc_backend&) = delete;

    std::uint16_t port() const { return port_; }
    // http://127.0.0.1:port, or https:// with TLS.
    std::string url() const;

    std::size_t count() const;
    std::vector<grpc_call> all() const;
    bool wait(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    // A call arrived (the service's reactors, on gRPC's threads): recorded, then answered.
    grpc_answer record(grpc_call c);

    class service;

  private:
    grpc_responder responder_;
    bool tls_ = false;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::vector<grpc_call> calls_;
    std::unique_ptr<service> service_;
    std::unique_ptr<grpc::Server> server_;
    std::uint16_t port_ = 0;
};

}  // namespace mg::exporter::test
