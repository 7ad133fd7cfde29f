// http_client: the exporter's upstream HTTP/1.1 client (Boost.Beast over Asio), plain TCP or TLS
// (OpenSSL through boost::asio::ssl), with a pool of keep-alive connections.
//
// Threading: every method, and every completion callback, runs on the strand passed in (the
// exporter's own io_context threads, never an ingest I/O thread). The pool and the set of
// operations in flight are therefore touched without locks. connections_opened() alone may be
// read from any thread.
//
// Timeouts: each step (TCP connect, TLS handshake, writing the request, reading the response)
// must finish within options.timeout, else the operation fails with reason "timeout". Name
// resolution uses the system resolver's own timeouts.
//
// Pooling: a connection whose response allows keep-alive goes back to the idle pool (at most
// max_idle of them). A request on a reused connection that fails before any response byte
// arrived (the server closed the idle connection in the meantime) is sent once more on a fresh
// connection; that is not a retry of the exporter's policy.
//
// Ownership: the client must outlive its operations: destroy it only after close_all() and once
// the io_context stopped running.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "export/endpoint.h"

namespace mg::exporter {

struct tls_options {
    std::string ca_file;  // empty: the system's default CA paths
    std::string cert_file;
    std::string key_file;
    bool insecure_skip_verify = false;
};

struct client_options {
    endpoint target;
    std::chrono::nanoseconds timeout = std::chrono::seconds(30);
    std::size_t max_idle = 4;
    std::uint64_t max_response_body = 1024 * 1024;  // larger bodies fail with reason "network"
    tls_options tls;
};

// The client side TLS context of the exporter: TLS 1.2 or later, the server verified against
// ca_file (or the system's CAs) unless insecure_skip_verify, the client certificate when
// cert_file is set. Fails when a file cannot be loaded, naming the flag and the path; `validate`
// calls it too, so it refuses what the daemon would with the same message.
result<std::unique_ptr<boost::asio::ssl::context>> make_client_tls_context(const tls_options& t);

struct http_outcome {
    // Transport failure: connect, timeout, tls, network, resolve; empty when a response arrived.
    std::string error_reason;
    std::string error_message;
    unsigned status = 0;
    std::string retry_after;  // the Retry-After header, if any
    std::string body;

    bool transport_failed() const { return !error_reason.empty(); }
};

class http_client {
  public:
    using strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using callback = std::function<void(http_outcome)>;

    // Fails when the TLS files cannot be loaded (the message names the file).
    static result<std::unique_ptr<http_client>> create(strand executor, client_options options);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // Sends req (on the strand). req must stay alive and unchanged until done runs; done runs
    // exactly once, on the strand.
    void async_send(request& req, callback done);

    // Closes idle connections and aborts the operations in flight (their callbacks report a
    // transport failure). On the strand.
    void close_all();

    std::uint64_t connections_opened() const { return opened_.load(std::memory_order_relaxed); }

  private:
    class connection;
    class send_op;
    http_client(strand executor, client_options options);

    std::unique_ptr<connection> take_idle();
    void put_idle(std::unique_ptr<connection> c);

    strand strand_;
    client_options options_;
    std::unique_ptr<boost::asio::ssl::context> tls_ctx_;  // null: plain TCP
    std::vector<std::unique_ptr<connection>> idle_;
    std::unordered_set<send_op*> active_;
    std::atomic<std::uint64_t> opened_{0};
};

}  // namespace mg::exporter
