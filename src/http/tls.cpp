#include "http/tls.h"

#include <openssl/ssl.h>

namespace mg::http {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>> make_server_tls_context(const tls_files& files) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    auto fail = [](const std::string& name, const std::string& path, const std::string& why) {
        return make_error(name + ": cannot use \"" + path + "\": " + why);
    };
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(files.cert_file, ec);
    if (ec)
        return fail(files.cert_name, files.cert_file,
                    ec.message() + "; want a PEM certificate (chain)");
    ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
    if (ec) return fail(files.key_name, files.key_file, ec.message() + "; want a PEM private key");
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        return fail(files.key_name, files.key_file,
                    "the key does not belong to the certificate " + files.cert_file);
    }
    if (!files.client_ca_file.empty()) {
        ctx->load_verify_file(files.client_ca_file, ec);
        if (ec)
            return fail(files.client_ca_name, files.client_ca_file,
                        ec.message() + "; want PEM CA certificates");
        // Tell clients which CAs are accepted, so one with several certificates picks the right
        // one.
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str())) {
            SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
        }
        ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

}  // namespace mg::http
