// tls: the OpenSSL context of a listener that speaks HTTPS: its certificate chain and key, and
// optionally a CA bundle that client certificates must verify against (mutual TLS). Built once at
// startup; the server shares it read-only among its sessions (OpenSSL contexts are thread-safe
// once configured).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/result.h"

namespace mg::http {

struct tls_files {
    std::string cert_file{};       // PEM chain, leaf first
    std::string key_file{};        // PEM private key of the leaf
    std::string client_ca_file{};  // empty: no client certificate is asked for
    // How messages name each file, e.g. "receiver.tls.cert_file (-receiver-tls-cert-file)".
    std::string cert_name = "certificate file";
    std::string key_name = "key file";
    std::string client_ca_name = "client CA file";
};

// TLS 1.2 or later. Fails, naming the file and OpenSSL's reason, when a file cannot be read or
// parsed, or the key does not belong to the certificate.
result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(const tls_files& files);

}  // namespace mg::http
