// The one translation unit that compiles Asio and Beast. Everything else includes their headers
// with BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION (set by mg_asio), which
// keeps the build on two cores short.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
