// redis_tls: the client-side TLS settings of cluster mode's Redis connections and the OpenSSL
// context made from them (Debian 12's hiredis 0.14 has no TLS; the socket is Asio's, so TLS is
// Asio's ssl::stream over it, see redis_connection.h).
//
// The context is made once (at startup, where a file that cannot be loaded is a configuration
// error) and shared read-only by the connections to every node: OpenSSL contexts are thread-safe
// once configured. What is checked per connection (the server's name or address) is set on each
// connection's stream, not here.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/result.h"

namespace mg::cluster {

struct redis_tls_options {
    bool enabled = false;
    std::string ca_file;    // PEM CAs the server's certificate must chain to; empty: the system's
    std::string cert_file;  // the client's certificate chain (Redis' tls-auth-clients); optional
    std::string key_file;   // its private key; required with cert_file
    // Skips both the chain and the name check: the connection is encrypted, not authenticated.
    bool insecure_skip_verify = false;
    // The name (or IP address) the server's certificate must carry, also sent as SNI when it is a
    // name; empty: the host connected to (for Redis Cluster nodes, the address each node
    // announces, so their certificates need those IP addresses unless this is set).
    std::string server_name;
};

// TLS 1.2 or later; the server verified against ca_file (or the system's CAs) unless
// insecure_skip_verify; the client certificate when cert_file is set. Fails naming the file and
// OpenSSL's reason when one cannot be loaded, or the key does not match the certificate.
result<std::shared_ptr<boost::asio::ssl::context>> make_redis_tls_context(
    const redis_tls_options& t);

}  // namespace mg::cluster
