// redis_connection: one connection to a Redis server on an Asio strand, commands pipelined in
// order (cluster mode, docs/cluster.md). The wire is hiredis' own: commands formatted with
// redisFormatCommandArgv, replies parsed by its redisReader; the socket is Asio's, so timeouts,
// cancellation and shutdown follow the rest of the daemon's I/O, and TLS (which Debian 12's
// hiredis 0.14 lacks) is Asio's ssl::stream over it (redis_tls.h).
//
// command() queues a command and calls back exactly once, on the strand: with the reply (a Redis
// error reply is a reply, not a failure) or with a failure when the connection cannot be made or
// breaks. A broken connection fails every command in flight; the next command connects again, no
// sooner than the backoff after the last failure allows (commands meanwhile fail at once: the
// callers have their own policy for an unreachable Redis). On connecting, the TLS handshake
// (when configured; connect_timeout covers it), then AUTH and SELECT go first when configured.
// Failures name the address, and for TLS OpenSSL's reason for refusing the certificate.
//
// As a redis_client it is the one-server mode: the key of command(key, ...) is ignored, so that
// mode costs nothing for Redis Cluster's sake. redis_cluster.h holds one per node.
//
// Ownership: create() returns a shared_ptr; pending operations keep it alive. close() fails what
// is pending. Thread-safety: every public method may be called from any thread (they post to the
// strand); callbacks run on the strand and must not block.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_reply.h"
#include "cluster/redis_tls.h"
#include "common/result.h"

struct redisReader;

namespace mg::cluster {

struct redis_connection_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string username;  // Redis 6 ACL user (AUTH user password); empty: AUTH password
    std::string password;  // AUTH when set
    int db = 0;            // SELECT when not 0
    std::chrono::milliseconds connect_timeout{1000};  // connect and TLS handshake
    std::chrono::milliseconds min_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    redis_tls_options tls;
    // The context made from `tls` (make_redis_tls_context), shared by the connections to every
    // node. Null with tls.enabled: create() makes it, and throws std::runtime_error with
    // make_redis_tls_context's message when a file cannot be loaded (configuration checks call
    // make_redis_tls_context first, to report it with the other errors).
    std::shared_ptr<boost::asio::ssl::context> tls_context;
};

class redis_connection : public redis_client,
                         public std::enable_shared_from_this<redis_connection> {
  public:
    static std::shared_ptr<redis_connection> create(strand s, redis_connection_options o);
    ~redis_connection() override;
    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;

    void command(std::vector<std::string> args, callback cb);
    // Redis Cluster's ASK redirection: ASKING and then the command, back to back on this
    // connection (ASKING admits only the next command to a slot being imported). cb gets the
    // command's reply.
    void asking_command(std::vector<std::string> args, callback cb);
    void command(std::string_view key, std::vector<std::string> args, callback cb) override;
    void close() override;

    // "host:port", as failures name it.
    const std::string& address() const { return address_; }
    // Strand only (for the owner's reconnect decisions and metrics).
    bool connected() const { return state_ == state::connected; }

  private:
    enum class state : std::uint8_t { idle, connecting, connected, closed };
    using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

    redis_connection(strand s, redis_connection_options o);
    void do_command(std::vector<std::string> args, callback cb, bool asking);
    void do_connect();
    void on_connect(std::uint64_t id, const boost::system::error_code& ec);
    void do_handshake(std::uint64_t id);
    void on_handshake(std::uint64_t id, const boost::system::error_code& ec);
    void on_ready();
    void do_write();
    void on_write(std::uint64_t id, const boost::system::error_code& ec);
    void do_read();
    void on_read(std::uint64_t id, const boost::system::error_code& ec, std::size_t n);
    void fail_all(const std::string& why);
    void append(const std::vector<std::string>& args);
    boost::asio::ip::tcp::socket& lowest() { return tls_ ? tls_->next_layer() : socket_; }

    strand strand_;
    redis_connection_options o_;
    std::string address_;
    boost::asio::ip::tcp::socket socket_;  // without TLS
    // With TLS: a new stream per connection attempt (an SSL session cannot be restarted). Shared
    // with the handlers of its operations, so a stream replaced by a reconnect lives until they
    // have all run.
    std::shared_ptr<tls_stream> tls_;
    boost::asio::steady_timer connect_timer_;
    boost::asio::ip::tcp::resolver resolver_;
    state state_ = state::idle;
    std::uint64_t id_ = 0;  // the connection attempt handlers belong to: stale ones do nothing
    std::chrono::steady_clock::time_point retry_at_{};
    std::chrono::milliseconds backoff_{0};
    std::string out_;      // formatted commands not yet written
    std::string writing_;  // the buffer of the write in progress
    bool write_busy_ = false;
    std::vector<char> in_;
    redisReader* reader_ = nullptr;
    std::deque<callback> waiting_;  // one per command written or queued, in order
};

}  // namespace mg::cluster
