#include "export/http_client.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace mg::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// One TCP or TLS connection and its read buffer (which may hold bytes of the next response).
class http_client::connection {
  public:
    explicit connection(const strand& ex) : tcp_(std::make_unique<beast::tcp_stream>(ex)) {}
    connection(const strand& ex, ssl::context& ctx)
        : tls_(std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, ctx)) {}

    beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }
    beast::ssl_stream<beast::tcp_stream>* tls() { return tls_.get(); }
    beast::flat_buffer& buffer() { return buffer_; }

    // Calls f with the stream to read and write: the TLS stream or the TCP one.
    template <typename F>
    void with_stream(F&& f) {
        if (tls_) {
            f(*tls_);
        } else {
            f(*tcp_);
        }
    }

    void close() {
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().socket().close(ignored);
    }

  private:
    std::unique_ptr<beast::tcp_stream> tcp_;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
};

// One request: take or open a connection, write, read, hand the connection back. All steps run
// on the client's strand; the op keeps itself alive through its handlers.
class http_client::send_op : public std::enable_shared_from_this<send_op> {
  public:
    send_op(http_client& client, request& req, callback done)
        : client_(client), req_(req), done_(std::move(done)), resolver_(client.strand_) {}

    void run() {
        client_.active_.insert(this);
        if (auto c = client_.take_idle()) {
            conn_ = std::move(c);
            reused_ = true;
            return do_write();
        }
        do_resolve();
    }

    void abort() {
        aborted_ = true;
        resolver_.cancel();
        if (conn_) conn_->close();
    }

  private:
    void do_resolve() {
        reused_ = false;
        const auto& ep = client_.options_.target;
        resolver_.async_resolve(
            ep.host, ep.port,
            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                self->on_resolve(ec, std::move(results));
            });
    }

    void on_resolve(beast::error_code ec, const tcp::resolver::results_type& results) {
        if (ec) return fail("resolve", ec);
        if (aborted_) return fail("network", asio::error::operation_aborted);
        conn_ = client_.tls_ctx_ ? std::make_unique<connection>(client_.strand_, *client_.tls_ctx_)
                                 : std::make_unique<connection>(client_.strand_);
        conn_->lowest().expires_after(client_.options_.timeout);
        conn_->lowest().async_connect(
            results, [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) {
                self->on_connect(e);
            });
    }

    void on_connect(beast::error_code ec) {
        if (ec) return fail(ec == beast::error::timeout ? "timeout" : "connect", ec);
        client_.opened_.fetch_add(1, std::memory_order_relaxed);
        auto* tls = conn_->tls();
        if (tls == nullptr) return do_write();
        const auto& ep = client_.options_.target;
        beast::error_code addr_ec;
        asio::ip::make_address(ep.host, addr_ec);
        if (addr_ec) {  // SNI is for names only, never for IP literals (RFC 6066)
            // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
            SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(ep.host.c_str()));
        }
        if (!client_.options_.tls.insecure_skip_verify) {
            tls->set_verify_callback(ssl::host_name_verification(ep.host));
        }
        conn_->lowest().expires_after(client_.options_.timeout);
        tls->async_handshake(
            ssl::stream_base::client, [self = shared_from_this()](beast::error_code e) {
                if (e) {
                    return self->fail(e == beast::error::timeout ? "timeout" : "tls", e);
                }
                self->do_write();
            });
    }

    void do_write() {
        conn_->lowest().expires_after(client_.options_.timeout);
        conn_->with_stream([&](auto& stream) {
            bhttp::async_write(stream, req_,
                               [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                   self->on_write(ec);
                               });
        });
    }

    void on_write(beast::error_code ec) {
        if (ec) return transport_error(ec);
        parser_.emplace();
        parser_->body_limit(client_.options_.max_response_body);
        conn_->lowest().expires_after(client_.options_.timeout);
        conn_->with_stream([&](auto& stream) {
            bhttp::async_read(stream, conn_->buffer(), *parser_,
                              [self = shared_from_this()](beast::error_code e, std::size_t) {
                                  self->on_read(e);
                              });
        });
    }

    void on_read(beast::error_code ec) {
        if (ec) return transport_error(ec);
        auto res = parser_->release();
        http_outcome out;
        out.status = res.result_int();
        if (auto it = res.find(bhttp::field::retry_after); it != res.end()) {
            out.retry_after = std::string(it->value());
        }
        out.body = std::move(res.body());
        if (res.keep_alive() && !aborted_) {
            conn_->lowest().expires_never();
            client_.put_idle(std::move(conn_));
        } else {
            conn_->close();
            conn_.reset();
        }
        finish(std::move(out));
    }

    // A reused connection that the server closed while it sat idle fails with EOF or a reset
    // before anything was read: open a fresh one, once.
    void transport_error(beast::error_code ec) {
        const bool stale = ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                           ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
        if (reused_ && stale && !aborted_) {
            conn_->close();
            conn_.reset();
            return do_resolve();
        }
        fail(ec == beast::error::timeout ? "timeout" : "network", ec);
    }

    void fail(const char* reason, beast::error_code ec) {
        if (conn_) {
            conn_->close();
            conn_.reset();
        }
        http_outcome out;
        out.error_reason = aborted_ ? "shutdown" : reason;
        out.error_message = ec.message();
        finish(std::move(out));
    }

    void finish(http_outcome out) {
        client_.active_.erase(this);
        auto done = std::move(done_);
        done(std::move(out));
    }

    http_client& client_;
    request& req_;
    callback done_;
    tcp::resolver resolver_;
    std::unique_ptr<connection> conn_;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
    bool reused_ = false;
    bool aborted_ = false;
};

result<std::unique_ptr<ssl::context>> make_client_tls_context(const tls_options& t) {
    try {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
        if (t.insecure_skip_verify) {
            ctx->set_verify_mode(ssl::verify_none);
        } else {
            ctx->set_verify_mode(ssl::verify_peer);
            if (t.ca_file.empty()) {
                ctx->set_default_verify_paths();
            } else {
                beast::error_code ec;
                ctx->load_verify_file(t.ca_file, ec);
                if (ec) {
                    return make_error("-exporter-tls-ca-file \"" + t.ca_file +
                                      "\": " + ec.message());
                }
            }
        }
        if (!t.cert_file.empty()) {
            beast::error_code ec;
            ctx->use_certificate_chain_file(t.cert_file, ec);
            if (ec) {
                return make_error("-exporter-tls-cert-file \"" + t.cert_file +
                                  "\": " + ec.message());
            }
            ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
            if (ec) {
                return make_error("-exporter-tls-key-file \"" + t.key_file + "\": " + ec.message());
            }
        }
        return ctx;
    } catch (const std::exception& e) {
        return make_error(std::string("TLS setup failed: ") + e.what());
    }
}

result<std::unique_ptr<http_client>> http_client::create(strand executor, client_options options) {
    std::unique_ptr<http_client> c(new http_client(std::move(executor), std::move(options)));
    if (!c->options_.target.tls) return c;
    auto ctx = make_client_tls_context(c->options_.tls);
    if (!ctx) return make_error(ctx.error_message());
    c->tls_ctx_ = std::move(*ctx);
    return c;
}

http_client::http_client(strand executor, client_options options)
    : strand_(std::move(executor)), options_(std::move(options)) {}

http_client::~http_client() = default;

void http_client::async_send(request& req, callback done) {
    std::make_shared<send_op>(*this, req, std::move(done))->run();
}

void http_client::close_all() {
    for (auto& c : idle_) c->close();
    idle_.clear();
    // abort() may not complete an op synchronously, but it can't erase from active_ either:
    // completions run later on the strand.
    for (send_op* op : active_) op->abort();
}

std::unique_ptr<http_client::connection> http_client::take_idle() {
    if (idle_.empty()) return nullptr;
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
}

void http_client::put_idle(std::unique_ptr<connection> c) {
    if (idle_.size() >= options_.max_idle) {
        c->close();
        return;
    }
    idle_.push_back(std::move(c));
}

}  // namespace mg::exporter
