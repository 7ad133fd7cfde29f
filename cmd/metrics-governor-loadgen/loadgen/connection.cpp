#include "loadgen/connection.h"

#include <boost/asio/io_context.hpp>
#include <stdexcept>

#include "loadgen/grpc_connection.h"
#include "loadgen/http_connection.h"

namespace mg::loadgen {

std::unique_ptr<connection> make_connection(
    const options& opts, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints) {
    if (opts.transport == transport_kind::grpc) {
        return std::make_unique<grpc_connection>(opts.target, endpoints, opts.timeout);
    }
    return std::make_unique<http_connection>(opts.target, endpoints, opts.timeout, opts.protocol);
}

std::vector<boost::asio::ip::tcp::endpoint> resolve(const http_target& target) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    const auto results = resolver.resolve(target.host, target.port, ec);
    if (ec)
        throw std::runtime_error("cannot resolve " + target.host + ":" + target.port + ": " +
                                 ec.message());
    std::vector<asio::ip::tcp::endpoint> out;
    for (const auto& r : results) out.push_back(r.endpoint());
    if (out.empty()) throw std::runtime_error("no address for " + target.host);
    return out;
}

}  // namespace mg::loadgen
