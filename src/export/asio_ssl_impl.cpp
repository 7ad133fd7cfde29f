// Boost.Asio's SSL implementation, compiled once (mg_asio builds Asio with
// BOOST_ASIO_SEPARATE_COMPILATION, whose src.hpp leaves SSL out so modules without TLS need no
// OpenSSL). Only the exporter talks TLS.
#include <boost/asio/ssl/impl/src.hpp>
