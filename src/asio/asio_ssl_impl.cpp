// Boost.Asio's SSL implementation, compiled once for the whole program (mg_asio builds Asio with
// BOOST_ASIO_SEPARATE_COMPILATION, whose src.hpp leaves SSL out so modules without TLS need no
// OpenSSL). Users: the exporter's client, the HTTP server's TLS listeners and cluster mode's
// Redis connections.
#include <boost/asio/ssl/impl/src.hpp>
