#include "http/server.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <type_traits>
#include <vector>

#include "http/byte_budget.h"
#include "logging/log.h"

namespace mg::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One connection. All its handlers run on the connection's strand, so its members need no lock.
// The base is what the server keeps track of; stream_session below does the I/O.
class session : public std::enable_shared_from_this<session> {
  public:
    explicit session(server& owner) : owner_(owner) { owner_.register_session(this); }
    virtual ~session() { owner_.unregister_session(this); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    virtual void run() = 0;
    // Called by the server from a control thread: closes the connection if it waits idle; a
    // request in flight finishes and its response closes the connection.
    virtual void request_shutdown() = 0;
    // Called by the server at max_connections: closes the connection if it still waits idle or
    // is still reading the same request (counted as evicted); a request being handled or
    // answered is left alone.
    virtual void request_eviction() = 0;

    // What the server reads to choose a connection to evict (any thread): whether the
    // connection waits (idle, handshake, reading a request) and since when.
    bool waiting_since(std::int64_t& since_ns) const {
        since_ns = waiting_since_ns_.load(std::memory_order_relaxed);
        return since_ns != 0 && !evicting_.load(std::memory_order_relaxed);
    }
    bool mark_evicting() { return !evicting_.exchange(true, std::memory_order_relaxed); }

  protected:
    // 0: handling or answering a request (never evicted); else steady-clock ns of the start of
    // the current wait.
    void set_waiting(bool waiting) {
        waiting_since_ns_.store(
            waiting ? std::chrono::steady_clock::now().time_since_epoch().count() : 0,
            std::memory_order_relaxed);
    }
    server& owner_;
    std::atomic<std::int64_t> waiting_since_ns_{0};
    std::atomic<bool> evicting_{false};
};

namespace {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Stream is beast::tcp_stream (plain HTTP) or tls_stream: a template rather than a virtual
// stream, so plain HTTP reads and writes exactly as before, without an indirection per call.
template <typename Stream>
class stream_session final : public session {
  public:
    static constexpr bool k_tls = std::is_same_v<Stream, tls_stream>;

    template <typename... Args>
    explicit stream_session(server& owner, Args&&... args)
        : session(owner), stream_(std::forward<Args>(args)...) {}

    void run() override {
        asio::dispatch(stream_.get_executor(), [self = self()] { self->do_handshake(); });
    }

    void request_shutdown() override {
        asio::post(stream_.get_executor(), [self = self()] {
            if (self->state_ == state::idle || self->state_ == state::handshake ||
                self->state_ == state::lingering) {
                beast::error_code ignored;
                self->lowest().socket().close(ignored);
            }
        });
    }

    void request_eviction() override {
        asio::post(stream_.get_executor(), [self = self()] {
            const auto s = self->state_;
            if (s == state::idle || s == state::handshake || s == state::reading ||
                s == state::lingering) {
                self->count(close_reason::evicted);
                beast::error_code ignored;
                self->lowest().socket().close(ignored);
            } else {
                self->evicting_.store(false, std::memory_order_relaxed);  // busy now: not a victim
            }
        });
    }

    ~stream_session() override { release_budget(); }

  private:
    enum class state { handshake, idle, reading, handling, writing, lingering, closed };

    // The only place state_ changes: it also tells the server whether this connection waits.
    void enter(state s) {
        state_ = s;
        set_waiting(s == state::handshake || s == state::idle || s == state::reading);
    }

    std::shared_ptr<stream_session> self() {
        return std::static_pointer_cast<stream_session>(shared_from_this());
    }
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    // TLS only: the handshake must finish within read_timeout, so a client that connects and
    // stays silent cannot hold the connection.
    void do_handshake() {
        if constexpr (k_tls) {
            enter(state::handshake);
            lowest().expires_after(owner_.options().read_timeout);
            stream_.async_handshake(
                asio::ssl::stream_base::server,
                [self = self()](beast::error_code ec) { self->on_handshake(ec); });
        } else {
            do_wait_request();
        }
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            if (!owner_.stopping()) {
                owner_.options().access_stats->tls_handshake_failed();
                logging::debug("tls handshake failed",
                               {{"listener", owner_.options().name}, {"error", ec.message()}});
            }
            return do_close();
        }
        do_wait_request();
    }

    // Waits for the first byte of the next request under the idle timeout, so a kept-alive
    // connection can sit quietly, while a started request must complete within read_timeout.
    void do_wait_request() {
        if (owner_.stopping()) return do_close();
        if (buffer_.size() > 0) return do_read();
        enter(state::idle);
        lowest().expires_after(owner_.options().idle_timeout);
        stream_.async_read_some(buffer_.prepare(4096),
                                [self = self()](beast::error_code ec, std::size_t n) {
                                    self->buffer_.commit(n);
                                    self->on_first_bytes(ec);
                                });
    }

    void on_first_bytes(beast::error_code ec) {
        if (ec == beast::error::timeout) count(close_reason::idle_timeout);
        if (ec) return do_close();  // idle timeout, peer closed, or shutdown
        do_read();
    }

    // With access control, the header first: it decides before a body is read, so a client
    // without credentials cannot make the listener buffer one. The body then shares the same
    // deadline.
    void do_read() {
        enter(state::reading);
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(owner_.options().max_header_size));
        parser_->body_limit(owner_.options().max_body_size);
        lowest().expires_after(owner_.options().read_timeout);
        if (!owner_.options().auth && !owner_.options().inflight) {  // one read, as fast as it gets
            bhttp::async_read(
                stream_, buffer_, *parser_,
                [self = self()](beast::error_code ec, std::size_t) { self->on_read(ec); });
            return;
        }
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            [self = self()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        const auto& auth = owner_.options().auth;
        if (auth && !auth->allows(parser_->get())) {
            owner_.options().access_stats->unauthorized();
            // The body (if any) is left unread, so the connection cannot carry another request.
            auto res = std::make_shared<response>(auth->challenge(parser_->get().version()));
            res->keep_alive(false);
            return do_write(std::move(res), !parser_->is_done());
        }
        if (const auto& budget = owner_.options().inflight; budget && !parser_->is_done()) {
            // The body's size as declared, or the limit when it is chunked: what it may hold.
            const auto declared = parser_->content_length();
            const std::uint64_t want = declared ? *declared : owner_.options().max_body_size;
            if (want > owner_.options().max_body_size) return on_read(bhttp::error::body_limit);
            if (!budget->try_acquire(want)) {
                count(close_reason::inflight_bytes);
                auto res = std::make_shared<response>(bhttp::status::too_many_requests,
                                                      parser_->get().version());
                res->set(bhttp::field::server, "metrics-governor");
                res->set(bhttp::field::content_type, k_text);
                res->set(bhttp::field::retry_after, "1");
                res->body() =
                    "too many request bytes in flight (-receiver-max-inflight-bytes); retry "
                    "later\n";
                res->keep_alive(false);
                res->prepare_payload();
                return do_write(std::move(res), true);  // the body is not read: linger, then close
            }
            budget_held_ = want;
        }
        if (parser_->is_done()) return on_read({});
        bhttp::async_read(
            stream_, buffer_, *parser_,
            [self = self()](beast::error_code read_ec, std::size_t) { self->on_read(read_ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) return do_close();
        if (ec == beast::error::timeout) {
            logging::debug("http request read timed out", {{"listener", owner_.options().name}});
            count(close_reason::read_timeout);
            return do_close();
        }
        if (ec == bhttp::error::body_limit) {
            count(close_reason::body_too_large);
            // Linger: a sender that writes its whole body before reading must still see the 413
            // (a final answer) rather than a reset (which it would retry).
            return send_error(bhttp::status::payload_too_large,
                              "request body larger than the limit of " +
                                  std::to_string(owner_.options().max_body_size) + " bytes\n",
                              true);
        }
        if (ec == bhttp::error::header_limit) {
            count(close_reason::header_too_large);
            return send_error(bhttp::status::request_header_fields_too_large,
                              "request header larger than the limit of " +
                                  std::to_string(owner_.options().max_header_size) + " bytes\n",
                              true);
        }
        if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
            count(close_reason::malformed_request);
            return send_error(bhttp::status::bad_request,
                              "malformed HTTP request: " + ec.message() + "\n");
        }
        if (ec) return do_close();

        request req = parser_->release();
        set_waiting(false);  // being handled: never evicted
        const bool head = req.method() == bhttp::verb::head;
        const bool keep_alive = req.keep_alive();
        enter(state::handling);
        // The answer may come later, from another thread (an async handler): it is written on
        // this connection's strand, and nothing more is read until then.
        owner_.routes().dispatch(
            std::move(req), [self = self(), head, keep_alive](response answer) {
                asio::post(self->stream_.get_executor(),
                           [self, head, keep_alive, answer = std::move(answer)]() mutable {
                               self->on_answer(std::move(answer), head, keep_alive);
                           });
            });
    }

    void on_answer(response answer, bool head, bool keep_alive) {
        auto res = std::make_shared<response>(std::move(answer));
        // The body was decoded and decided: its bytes are given back.
        release_budget();
        if (head) res->body().clear();
        res->keep_alive(keep_alive && !owner_.stopping());
        do_write(std::move(res));
    }

    // Answers a request that could not be read and closes: the rest of the stream is unusable.
    void send_error(bhttp::status status, std::string body, bool linger = false) {
        auto res = std::make_shared<response>(status, 11);
        res->set(bhttp::field::server, "metrics-governor");
        res->set(bhttp::field::content_type, k_text);
        res->body() = std::move(body);
        res->keep_alive(false);
        res->prepare_payload();
        do_write(std::move(res), linger);
    }

    // linger: the client may still be sending a body nobody read (401, 413, 431); see do_linger.
    void do_write(std::shared_ptr<response> res, bool linger = false) {
        enter(state::writing);
        lowest().expires_after(owner_.options().read_timeout);
        const bool keep = res->keep_alive();
        bhttp::async_write(stream_, *res,
                           [self = self(), res, keep, linger](beast::error_code ec, std::size_t) {
                               self->on_write(ec, keep, linger);
                           });
    }

    void on_write(beast::error_code ec, bool keep_alive, bool linger = false) {
        if (ec == beast::error::timeout) count(close_reason::write_timeout);
        if (!ec && linger) return do_linger();
        if (ec || !keep_alive) return do_close();
        do_wait_request();
    }

    // Closing a socket with unread input resets the connection, and the reset can destroy the
    // response before the client reads it. So: half-close, then discard what the client still
    // sends until it closes, at most max_body_size bytes and read_timeout long.
    void do_linger() {
        enter(state::lingering);
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        lowest().expires_after(owner_.options().read_timeout);
        drain_ = std::make_unique<std::array<char, 4096>>();
        drain_some(0);
    }

    void drain_some(std::uint64_t drained) {
        lowest().async_read_some(asio::buffer(*drain_),
                                 [self = self(), drained](beast::error_code ec, std::size_t n) {
                                     if (ec || drained + n > self->owner_.options().max_body_size)
                                         return self->do_close();
                                     self->drain_some(drained + n);
                                 });
    }

    // TLS closes without close_notify: every response is delimited by Content-Length, so the
    // client has it whole, and a TLS shutdown would be one more round trip to bound.
    void do_close() {
        release_budget();
        if (state_ == state::closed) return;
        enter(state::closed);
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        lowest().socket().close(ignored);
    }

    void count(close_reason r) { owner_.options().counters->add(r); }

    void release_budget() {
        if (budget_held_ == 0) return;
        owner_.options().inflight->release(budget_held_);
        budget_held_ = 0;
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::unique_ptr<std::array<char, 4096>> drain_;  // do_linger only
    state state_ = state::idle;
    std::uint64_t budget_held_ = 0;  // of options.inflight, while this request's body is held
};

}  // namespace

std::string format_endpoint(const tcp::endpoint& ep) {
    const auto host = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

server::server(asio::io_context& ioc, server_options options, std::shared_ptr<const router> routes)
    : ioc_(ioc), options_(std::move(options)), routes_(std::move(routes)) {}

server::~server() {
    shutdown();
}

result<tcp::endpoint> server::listen(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    std::vector<tcp::endpoint> candidates;
    if (host.empty()) {
        candidates = {tcp::endpoint(tcp::v6(), port), tcp::endpoint(tcp::v4(), port)};
    } else {
        tcp::resolver resolver(ioc_);
        auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
        if (ec) return make_error("cannot resolve listen host \"" + host + "\": " + ec.message());
        for (const auto& r : results) candidates.push_back(r.endpoint());
    }
    std::string last_error = "no address to listen on";
    for (const auto& ep : candidates) {
        auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(ioc_));
        acceptor->open(ep.protocol(), ec);
        if (!ec && ep.address().is_v6() && host.empty())
            acceptor->set_option(asio::ip::v6_only(false), ec);
        if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            last_error = ec.message();
            continue;
        }
        acceptor_ = std::move(acceptor);
        accept_retry_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());
        const auto bound = acceptor_->local_endpoint();
        do_accept();
        return bound;
    }
    return make_error("cannot listen on " + (host.empty() ? std::string("*") : host) + ":" +
                      std::to_string(port) + ": " + last_error);
}

void server::do_accept() {
    acceptor_->async_accept(asio::make_strand(ioc_),
                            [this](boost::system::error_code ec, tcp::socket socket) {
                                on_accept(ec, std::move(socket));
                            });
}

void server::on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (stopping() || ec == asio::error::operation_aborted) return;
    if (ec) {
        // Typically EMFILE: back off instead of spinning, and keep serving the open connections.
        logging::warn("http accept failed", {{"listener", options_.name}, {"error", ec.message()}});
        accept_retry_->expires_after(std::chrono::milliseconds(100));
        accept_retry_->async_wait([this](boost::system::error_code wait_ec) {
            if (!wait_ec && !stopping()) do_accept();
        });
        return;
    }
    if (options_.max_connections != 0 && open_connections() >= options_.max_connections &&
        !evict_one()) {
        // Refused at once, without a response: reading a request first would let the excess
        // connections hold resources, which is what the limit is for.
        options_.counters->add(close_reason::max_connections);
        boost::system::error_code ignored;
        socket.close(ignored);
    } else {
        if (options_.tls) {
            std::make_shared<stream_session<tls_stream>>(*this, std::move(socket), *options_.tls)
                ->run();
        } else {
            std::make_shared<stream_session<beast::tcp_stream>>(*this, std::move(socket))->run();
        }
    }
    do_accept();
}

void server::stop_accepting() {
    if (!acceptor_) return;
    if (ioc_.stopped()) {
        boost::system::error_code ignored;
        acceptor_->close(ignored);
        return;
    }
    // The acceptor lives on its own strand; close it there so no accept handler races with it.
    // The flag is the server's own (the lambda already needs the server alive): no state shared
    // through a reference count between the two threads.
    asio::dispatch(acceptor_->get_executor(), [this] {
        boost::system::error_code ignored;
        acceptor_->close(ignored);
        accept_retry_->cancel();
        std::lock_guard lock(accept_mu_);
        accept_closed_ = true;
        accept_cv_.notify_all();
    });
    std::unique_lock lock(accept_mu_);
    accept_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return accept_closed_; });
}

void server::shutdown() {
    if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
    stop_accepting();
    // Take strong references under the lock, act on them after it: dropping the last reference
    // runs the session's destructor, which takes the same lock.
    std::vector<std::shared_ptr<session>> live;
    {
        std::lock_guard lock(sessions_mu_);
        for (auto* s : sessions_) {
            if (auto self = s->weak_from_this().lock()) live.push_back(std::move(self));
        }
    }
    for (auto& s : live) s->request_shutdown();
}

bool server::wait_until_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(sessions_mu_);
    return sessions_cv_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

bool server::evict_one() {
    // The longest wait goes: an idle keep-alive connection or a request trickling in. A sender
    // that completes its requests is rarely the one, and an idle one just reconnects.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const auto min_age =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.evict_after).count();
    std::shared_ptr<session> victim;
    {
        std::lock_guard lock(sessions_mu_);
        std::int64_t oldest = now - min_age;
        session* pick = nullptr;
        for (auto* s : sessions_) {
            std::int64_t since = 0;
            if (s->waiting_since(since) && since <= oldest) {
                oldest = since;
                pick = s;
            }
        }
        if (pick != nullptr && pick->mark_evicting()) victim = pick->weak_from_this().lock();
    }
    if (!victim) return false;
    victim->request_eviction();
    return true;
}

void server::register_session(session* s) {
    std::lock_guard lock(sessions_mu_);
    sessions_.insert(s);
    open_.store(sessions_.size(), std::memory_order_relaxed);
    options_.counters->opened();
}

void server::unregister_session(session* s) {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(s);
    open_.store(sessions_.size(), std::memory_order_relaxed);
    options_.counters->gone();
    if (sessions_.empty()) sessions_cv_.notify_all();
}

}  // namespace mg::http
