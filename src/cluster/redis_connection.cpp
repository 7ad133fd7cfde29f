// One pipelined Redis connection (see redis_connection.h).
#include "cluster/redis_connection.h"

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace mg::cluster {

namespace asio = boost::asio;

namespace {

redis_reply convert(const redisReply& r) {
    redis_reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            out.type = redis_reply::kind::string;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = redis_reply::kind::status;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = redis_reply::kind::error;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = redis_reply::kind::integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = redis_reply::kind::array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i)
                out.elements.push_back(convert(*r.element[i]));
            break;
        default:
            out.type = redis_reply::kind::nil;
            break;
    }
    return out;
}

// Why a handshake failed, in OpenSSL's words: the certificate check's own reason when it was
// that ("unable to get local issuer certificate", "hostname mismatch"), the alert otherwise.
std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
    const long verify = SSL_get_verify_result(ssl);
    std::string why = ec.message();
    if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return why;
}

}  // namespace

std::shared_ptr<redis_connection> redis_connection::create(strand s, redis_connection_options o) {
    if (o.tls.enabled && !o.tls_context) {
        auto ctx = make_redis_tls_context(o.tls);
        if (!ctx) throw std::runtime_error(ctx.error_message());
        o.tls_context = std::move(*ctx);
    }
    return std::shared_ptr<redis_connection>(new redis_connection(std::move(s), std::move(o)));
}

redis_connection::redis_connection(strand s, redis_connection_options o)
    : strand_(std::move(s)),
      o_(std::move(o)),
      address_(o_.host + ":" + std::to_string(o_.port)),
      socket_(strand_),
      connect_timer_(strand_),
      resolver_(strand_),
      in_(64 * 1024) {}

redis_connection::~redis_connection() {
    if (reader_ != nullptr) redisReaderFree(reader_);
}

void redis_connection::command(std::vector<std::string> args, callback cb) {
    asio::post(strand_,
               [self = shared_from_this(), args = std::move(args), cb = std::move(cb)]() mutable {
                   self->do_command(std::move(args), std::move(cb), false);
               });
}

void redis_connection::asking_command(std::vector<std::string> args, callback cb) {
    asio::post(strand_,
               [self = shared_from_this(), args = std::move(args), cb = std::move(cb)]() mutable {
                   self->do_command(std::move(args), std::move(cb), true);
               });
}

void redis_connection::command(std::string_view, std::vector<std::string> args, callback cb) {
    command(std::move(args), std::move(cb));
}

void redis_connection::close() {
    asio::post(strand_, [self = shared_from_this()] {
        self->state_ = state::closed;
        self->fail_all("redis connection closed");
    });
}

void redis_connection::append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    char* cmd = nullptr;
    const int n =
        redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (n < 0 || cmd == nullptr) throw std::bad_alloc();
    out_.append(cmd, static_cast<std::size_t>(n));
    redisFreeCommand(cmd);
}

void redis_connection::do_command(std::vector<std::string> args, callback cb, bool asking) {
    if (state_ == state::closed) return cb(make_error("redis connection closed"));
    if (state_ == state::idle) {
        const auto now = std::chrono::steady_clock::now();
        if (now < retry_at_) {
            const auto wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
            return cb(make_error("redis unreachable; next connection attempt in " +
                                 std::to_string(wait.count()) + " ms"));
        }
        do_connect();
    }
    if (asking) {
        // Its reply says nothing the command's own reply will not (a refusal shows as MOVED).
        append({"ASKING"});
        waiting_.push_back([](const result<redis_reply>&) {});
    }
    append(args);
    waiting_.push_back(std::move(cb));
    do_write();
}

void redis_connection::do_connect() {
    state_ = state::connecting;
    const auto id = ++id_;
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    // AUTH and SELECT are the first commands of every connection; a refusal fails the connection.
    const auto must_succeed = [self = shared_from_this(), id](const char* what) {
        return [self, id, what](result<redis_reply> r) {
            if (id != self->id_) return;
            if (!r) return;  // the connection failed: already reported to everything pending
            if (r->is_error()) self->fail_all(std::string(what) + " refused: " + r->str);
        };
    };
    if (!o_.password.empty()) {
        // Redis 6 ACL: AUTH user password; without a user, the default user's password.
        if (o_.username.empty()) {
            append({"AUTH", o_.password});
        } else {
            append({"AUTH", o_.username, o_.password});
        }
        waiting_.push_front(must_succeed("AUTH"));
    }
    if (o_.db != 0) {
        append({"SELECT", std::to_string(o_.db)});
        // After AUTH (when there is one): replies come in order.
        waiting_.insert(waiting_.begin() + (o_.password.empty() ? 0 : 1), must_succeed("SELECT"));
    }
    connect_timer_.expires_after(o_.connect_timeout);
    connect_timer_.async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
        if (ec || id != self->id_ || self->state_ != state::connecting) return;
        // Covers resolving, connecting and the TLS handshake; their handlers are stale from here.
        self->fail_all("cannot connect to redis at " + self->address_ + ": timed out");
    });
    if (o_.tls_context) tls_ = std::make_shared<tls_stream>(strand_, *o_.tls_context);
    resolver_.async_resolve(
        o_.host, std::to_string(o_.port),
        [self = shared_from_this(), id, stream = tls_](const boost::system::error_code& ec,
                                                       asio::ip::tcp::resolver::results_type rs) {
            if (id != self->id_) return;
            if (ec) return self->on_connect(id, ec);
            asio::async_connect(
                self->lowest(), rs,
                [self, id, stream](const boost::system::error_code& e,
                                   const asio::ip::tcp::endpoint&) { self->on_connect(id, e); });
        });
}

void redis_connection::on_connect(std::uint64_t id, const boost::system::error_code& ec) {
    if (id != id_ || state_ != state::connecting) return;
    if (ec) return fail_all("cannot connect to redis at " + address_ + ": " + ec.message());
    boost::system::error_code ignored;
    lowest().set_option(asio::ip::tcp::no_delay(true), ignored);
    if (tls_) return do_handshake(id);
    on_ready();
}

void redis_connection::do_handshake(std::uint64_t id) {
    SSL* ssl = tls_->native_handle();
    const auto& t = o_.tls;
    const std::string& name = t.server_name.empty() ? o_.host : t.server_name;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) {  // SNI is for names only, never for IP literals (RFC 6066)
        // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));
    }
    if (!t.insecure_skip_verify) {
        // OpenSSL's own check (not a verify callback), so a mismatch fails the handshake with
        // its reason ("hostname mismatch", "IP address mismatch") kept for the message.
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        const int set = not_ip ? X509_VERIFY_PARAM_set1_host(param, name.data(), name.size())
                               : X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
        if (set != 1) return fail_all("redis TLS: cannot check the server's name \"" + name + "\"");
    }
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this(), id, stream = tls_](
                              const boost::system::error_code& ec) { self->on_handshake(id, ec); });
}

void redis_connection::on_handshake(std::uint64_t id, const boost::system::error_code& ec) {
    if (id != id_ || state_ != state::connecting) return;
    if (ec) {
        return fail_all("cannot connect to redis at " + address_ +
                        ": TLS handshake failed: " + handshake_failure(tls_->native_handle(), ec));
    }
    on_ready();
}

void redis_connection::on_ready() {
    connect_timer_.cancel();
    state_ = state::connected;
    backoff_ = std::chrono::milliseconds(0);
    do_write();
    do_read();
}

void redis_connection::do_write() {
    if (write_busy_ || out_.empty() || state_ != state::connected) return;
    write_busy_ = true;
    writing_.swap(out_);
    out_.clear();
    auto done = [self = shared_from_this(), id = id_, stream = tls_](
                    const boost::system::error_code& ec, std::size_t) { self->on_write(id, ec); };
    if (tls_) return asio::async_write(*tls_, asio::buffer(writing_), std::move(done));
    asio::async_write(socket_, asio::buffer(writing_), std::move(done));
}

void redis_connection::on_write(std::uint64_t id, const boost::system::error_code& ec) {
    if (id != id_) return;
    write_busy_ = false;
    writing_.clear();
    if (ec) {
        return fail_all("redis connection to " + address_ + " lost while writing: " + ec.message());
    }
    do_write();
}

void redis_connection::do_read() {
    auto done = [self = shared_from_this(), id = id_, stream = tls_](
                    const boost::system::error_code& ec, std::size_t n) {
        self->on_read(id, ec, n);
    };
    if (tls_) return tls_->async_read_some(asio::buffer(in_), std::move(done));
    socket_.async_read_some(asio::buffer(in_), std::move(done));
}

void redis_connection::on_read(std::uint64_t id, const boost::system::error_code& ec,
                               std::size_t n) {
    if (id != id_ || state_ != state::connected) return;
    if (ec) return fail_all("redis connection to " + address_ + " lost: " + ec.message());
    if (redisReaderFeed(reader_, in_.data(), n) != REDIS_OK)
        return fail_all("redis reply unreadable");
    for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
            return fail_all("redis reply unreadable");
        if (raw == nullptr) break;
        auto* r = static_cast<redisReply*>(raw);
        auto reply = convert(*r);
        freeReplyObject(r);
        if (waiting_.empty()) return fail_all("redis sent a reply nothing asked for");
        auto cb = std::move(waiting_.front());
        waiting_.pop_front();
        cb(std::move(reply));
        // A callback may have failed the connection (AUTH refused): stop reading this one.
        if (id != id_ || state_ != state::connected) return;
    }
    do_read();
}

void redis_connection::fail_all(const std::string& why) {
    ++id_;  // every handler of this connection is stale from here
    boost::system::error_code ignored;
    connect_timer_.cancel();
    resolver_.cancel();
    lowest().close(ignored);  // a TLS stream's pending operations complete with an error
    out_.clear();
    writing_.clear();
    write_busy_ = false;
    if (state_ != state::closed) {
        state_ = state::idle;
        backoff_ = backoff_.count() == 0 ? o_.min_backoff : std::min(backoff_ * 2, o_.max_backoff);
        retry_at_ = std::chrono::steady_clock::now() + backoff_;
    }
    auto pending = std::move(waiting_);
    waiting_.clear();
    for (auto& cb : pending) cb(make_error(why));
}

}  // namespace mg::cluster
