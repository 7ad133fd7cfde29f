// The TLS context of the Redis connections (see redis_tls.h).
#include "cluster/redis_tls.h"

namespace mg::cluster {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>> make_redis_tls_context(const redis_tls_options& t) {
    try {
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
        boost::system::error_code ec;
        if (t.insecure_skip_verify) {
            ctx->set_verify_mode(ssl::verify_none);
        } else {
            ctx->set_verify_mode(ssl::verify_peer);
            if (t.ca_file.empty()) {
                ctx->set_default_verify_paths(ec);
                if (ec)
                    return make_error("redis TLS: the system's CA certificates: " + ec.message());
            } else {
                ctx->load_verify_file(t.ca_file, ec);
                if (ec)
                    return make_error("redis TLS CA file \"" + t.ca_file + "\": " + ec.message());
            }
        }
        if (!t.cert_file.empty() || !t.key_file.empty()) {
            if (t.cert_file.empty() || t.key_file.empty()) {
                return make_error(
                    "redis TLS: a client certificate needs both cert_file and key_file");
            }
            ctx->use_certificate_chain_file(t.cert_file, ec);
            if (ec) {
                return make_error("redis TLS certificate file \"" + t.cert_file +
                                  "\": " + ec.message());
            }
            ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
            if (ec) return make_error("redis TLS key file \"" + t.key_file + "\": " + ec.message());
            // OpenSSL checks that the key belongs to the certificate only here, not on loading.
            if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
                return make_error("redis TLS key file \"" + t.key_file +
                                  "\" does not belong to the certificate \"" + t.cert_file + "\"");
            }
        }
        return ctx;
    } catch (const std::exception& e) {
        return make_error(std::string("redis TLS setup failed: ") + e.what());
    }
}

}  // namespace mg::cluster
