#include "fake_backend.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <filesystem>
#include <stdexcept>

namespace mg::exporter::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

http::response reply(const http::request& req, unsigned status, std::string body) {
    if (status == 204 || status == 304) body.clear();  // must have no body
    return http::make_response(req, static_cast<http::bhttp::status>(status), std::move(body));
}

responder always(unsigned status) {
    return [status](const http::request& req, std::size_t) { return reply(req, status); };
}

// ---- request_log ----

void request_log::add(const http::request& req) {
    {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        times_.push_back(std::chrono::steady_clock::now());
    }
    cv_.notify_all();
}

std::size_t request_log::count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
}

std::vector<http::request> request_log::all() const {
    std::lock_guard lock(mu_);
    return requests_;
}

std::vector<std::chrono::steady_clock::time_point> request_log::times() const {
    std::lock_guard lock(mu_);
    return times_;
}

bool request_log::wait(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

// ---- fake_backend ----

fake_backend::fake_backend(responder r, std::uint16_t port) : responder_(std::move(r)) {
    auto routes = std::make_shared<http::router>();
    for (const char* path : {"/api/v1/write", "/v1/metrics"}) {
        routes->add(http::bhttp::verb::post, path, [this](const http::request& req) {
            // Number the request before answering so the responder sees a stable index.
            const std::size_t n = log_.count();
            auto res = responder_(req, n);
            log_.add(req);
            return res;
        });
    }
    http::server_options opts;
    opts.name = "fake-backend";
    opts.max_body_size = 64 * 1024 * 1024;
    server_ = std::make_unique<http::server>(ioc_, opts, routes);
    auto ep = server_->listen("127.0.0.1", port);
    if (!ep) throw std::runtime_error("fake_backend: " + ep.error_message());
    port_ = ep->port();
    thread_ = std::thread([this] { ioc_.run(); });
}

fake_backend::~fake_backend() {
    server_->shutdown();
    server_->wait_until_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    ioc_.stop();
    thread_.join();
    server_.reset();
}

std::string fake_backend::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

// ---- raw_backend ----

raw_backend::raw_backend(std::shared_ptr<asio::ssl::context> tls, responder r)
    : tls_(std::move(tls)), responder_(std::move(r)), acceptor_(ioc_) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
}

raw_backend::~raw_backend() {
    stopping_ = true;
    // Blocking accept() and read() return once their sockets are shut down.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mu_);
        for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
        threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
}

void raw_backend::accept_loop() {
    while (!stopping_) {
        auto s = std::make_shared<tcp::socket>(ioc_);
        beast::error_code ec;
        acceptor_.accept(*s, ec);
        if (ec || stopping_) return;
        ++accepted_;
        std::lock_guard lock(mu_);
        sockets_.push_back(s);
        threads_.emplace_back([this, s] { serve(s); });
    }
}

void raw_backend::serve(std::shared_ptr<tcp::socket> s) {
    auto loop = [&](auto& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request req;
            beast::error_code ec;
            http::bhttp::read(stream, buffer, req, ec);
            if (ec) return;
            const std::size_t n = log_.count();
            auto res = responder_(req, n);
            log_.add(req);
            res.prepare_payload();
            http::bhttp::write(stream, res, ec);
            if (ec || !res.keep_alive()) return;
        }
    };
    if (tls_) {
        asio::ssl::stream<tcp::socket&> stream(*s, *tls_);
        beast::error_code ec;
        stream.handshake(asio::ssl::stream_base::server, ec);
        if (!ec) loop(stream);
    } else {
        loop(*s);
    }
    beast::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
}

// ---- certificates ----

namespace {

void add_ext(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

}  // namespace

self_signed_cert::self_signed_cert() {
    char tmpl[] = "/tmp/mg-export-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    cert_file = dir + "/cert.pem";
    key_file = dir + "/key.pem";

    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (key == nullptr) throw std::runtime_error("EC key generation failed");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    add_ext(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    if (X509_sign(cert, key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");

    FILE* f = std::fopen(cert_file.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(key_file.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
}

self_signed_cert::~self_signed_cert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

std::shared_ptr<asio::ssl::context> server_tls_context(const self_signed_cert& cert) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert.cert_file);
    ctx->use_private_key_file(cert.key_file, asio::ssl::context::pem);
    return ctx;
}

}  // namespace mg::exporter::test
