// server: one HTTP/1.1 listener (Boost.Beast) serving a router, with every resource bounded:
// header bytes (431), body bytes (413, checked against Content-Length before the body is read),
// time to read a request once its first byte arrived (read_timeout), time a keep-alive connection
// may sit idle (idle_timeout), and optionally the number of open connections. Every connection
// closed for one of these limits is counted in options.counters by reason.
// Optionally TLS (options.tls; the handshake also bounded by read_timeout) and access control
// (options.auth: a request without the credentials gets 401 before its body is read).
// Optionally a byte budget shared by listeners (options.inflight, http/byte_budget.h): a request
// whose body does not fit in what is left gets 429 with Retry-After before its body is read.
//
// At max_connections a new connection does not simply bounce: the connection that has waited
// idle, or been reading one request, the longest (at least evict_after) is closed to make room
// (counted, reason evicted), so a flood of slow or idle connections cannot lock out a sender that
// completes its requests. Only when every connection is busy handling or answering a request is
// the new one refused (reason max_connections).
//
// Threading: sessions run on strands of the io_context passed in, which any number of threads may
// run. listen(), stop_accepting(), shutdown() and wait_until_idle() are called from a control
// thread (main), never from an I/O thread. The router is shared read-only.
// Ownership: the server must outlive the io_context's run() calls; sessions keep themselves alive
// with shared_ptr and unregister on destruction.
//
// Graceful shutdown: shutdown() stops accepting, closes connections that wait idle between
// requests, and lets requests in flight finish; their responses carry "Connection: close".
// wait_until_idle() then returns once every connection is gone, or false at the deadline.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "common/result.h"
#include "http/access.h"
#include "http/connection_counters.h"
#include "http/router.h"

namespace boost::asio::ssl {
class context;
}

namespace mg::http {

struct server_options {
    std::string name = "http";  // shown in logs: "stats", "ingest"
    std::uint64_t max_header_size = 16 * 1024;
    std::uint64_t max_body_size = 1024 * 1024;
    std::chrono::nanoseconds read_timeout = std::chrono::seconds(30);
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(120);
    std::size_t max_connections = 0;  // 0: unbounded
    // At max_connections, a connection idle or reading for at least this long may be evicted.
    std::chrono::nanoseconds evict_after = std::chrono::seconds(1);
    // Bytes of request bodies held at once (may be shared by listeners); null: no budget.
    std::shared_ptr<class byte_budget> inflight = nullptr;
    // Where closes for a timeout or limit are counted; may be shared between listeners.
    std::shared_ptr<connection_counters> counters = std::make_shared<connection_counters>();
    // Access control (http/access.h): null lets every request through. Checked on the header,
    // before the body is read and before routing.
    std::shared_ptr<const authenticator> auth = nullptr;
    // Set: the listener speaks only HTTPS with this context (http/tls.h); null: plain HTTP.
    std::shared_ptr<boost::asio::ssl::context> tls = nullptr;
    // 401s and failed TLS handshakes; may be shared between listeners.
    std::shared_ptr<access_counters> access_stats = std::make_shared<access_counters>();
};

class session;

// "127.0.0.1:9090" or "[::1]:9090".
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& ep);

class server {
  public:
    server(boost::asio::io_context& ioc, server_options options,
           std::shared_ptr<const router> routes);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and starts accepting. host "" means every interface (IPv6 dual-stack when available,
    // else IPv4). Returns the bound endpoint (port 0 picks a free port), or the bind error.
    result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, std::uint16_t port);

    void stop_accepting();
    void shutdown();
    bool wait_until_idle(std::chrono::steady_clock::time_point deadline);

    std::size_t open_connections() const { return open_.load(std::memory_order_relaxed); }
    bool stopping() const { return stopping_.load(std::memory_order_acquire); }
    const server_options& options() const { return options_; }
    const router& routes() const { return *routes_; }

  private:
    friend class session;

    void do_accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
    void register_session(session* s);
    void unregister_session(session* s);
    // Closes the connection idle or reading the longest, if one is old enough; false if none.
    bool evict_one();

    boost::asio::io_context& ioc_;
    server_options options_;
    std::shared_ptr<const router> routes_;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
    std::unique_ptr<boost::asio::steady_timer> accept_retry_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> open_{0};
    // stop_accepting(): the acceptor's strand says when it closed the acceptor.
    std::mutex accept_mu_;
    std::condition_variable accept_cv_;
    bool accept_closed_ = false;

    mutable std::mutex sessions_mu_;
    std::condition_variable sessions_cv_;
    std::unordered_set<session*> sessions_;
};

}  // namespace mg::http
