#include "export/upstream.h"

#include <algorithm>
#include <string_view>

#include "common/strings.h"
#include "export/endpoint.h"
#include "export/transport.h"

namespace mg::exporter {

namespace {

std::string authorization(const exporter_options& o) {
    if (!o.bearer_token.empty()) return "Bearer " + o.bearer_token;
    if (!o.basic_auth_username.empty()) {
        return "Basic " + base64_encode(o.basic_auth_username + ":" + o.basic_auth_password);
    }
    return {};
}

// gRPC metadata: keys of lower-case letters, digits, '-', '_' and '.', none of those gRPC sets
// itself; values printable ASCII unless the key ends in "-bin" (binary, which gRPC encodes).
result<header_list> grpc_metadata(const header_list& headers, const exporter_options& o) {
    header_list out;
    const std::string auth = authorization(o);
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const std::string which =
            "-exporter-headers: header " + std::to_string(i + 1) + " (values not shown)";
        std::string key = lower(headers[i].first);
        const bool key_ok = std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                   c == '.';
        });
        if (!key_ok) {
            return make_error(which +
                              " is not a gRPC metadata key (letters, digits, '-', '_', '.')");
        }
        if (key.rfind("grpc-", 0) == 0 || key == "te" || key == "content-type" ||
            key == "user-agent") {
            return make_error(which + ": gRPC sets \"" + key + "\" itself");
        }
        const std::string& value = headers[i].second;
        const bool binary = key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
        if (!binary && std::any_of(value.begin(), value.end(),
                                   [](char c) { return static_cast<unsigned char>(c) > 0x7e; })) {
            return make_error(which + " has a value that is not printable ASCII (a gRPC " +
                              "metadata key for binary values ends in -bin)");
        }
        // The auth flags win over a header of the same name, as they do over HTTP.
        if (key == "authorization" && !auth.empty()) continue;
        out.emplace_back(std::move(key), value);
    }
    if (!auth.empty()) out.emplace_back("authorization", auth);
    return out;
}

result<upstream> make_grpc_upstream(const exporter_options& o, header_list headers) {
    auto ep = parse_endpoint(o.endpoint, "/");
    if (!ep) return make_error("-exporter-endpoint: " + ep.error_message());
    if (ep->target != "/") {
        return make_error(
            "-exporter-endpoint: \"" + o.endpoint +
            "\" has a path or query, which OTLP/gRPC has no use for (the method "
            "is fixed); give http://host:port (plaintext) or https://host:port (TLS)");
    }
    auto metadata = grpc_metadata(headers, o);
    if (!metadata) return make_error(metadata.error_message());
    upstream up;
    up.metadata = std::move(*metadata);
    up.client.target = std::move(*ep);
    up.client.timeout = o.timeout;
    up.client.tls =
        tls_options{o.tls_ca_file, o.tls_cert_file, o.tls_key_file, o.tls_insecure_skip_verify};
    return up;
}

}  // namespace

result<upstream> make_upstream(const exporter_options& o) {
    namespace bhttp = boost::beast::http;
    auto headers = parse_headers(o.headers);
    if (!headers) return make_error("-exporter-headers: " + headers.error_message());
    if (o.protocol == "otlp-grpc") return make_grpc_upstream(o, std::move(*headers));
    const bool otlp = o.protocol == "otlp";
    auto ep = parse_endpoint(o.endpoint, otlp ? "/v1/metrics" : "/api/v1/write");
    if (!ep) return make_error("-exporter-endpoint: " + ep.error_message());

    upstream up;
    auto& req = up.request_template;
    for (const auto& [name, value] : *headers) req.set(name, value);
    if (const auto auth = authorization(o); !auth.empty()) {
        req.set(bhttp::field::authorization, auth);
    }
    req.method(bhttp::verb::post);
    req.version(11);
    req.target(ep->target);
    req.set(bhttp::field::host, ep->host_header);
    req.set(bhttp::field::user_agent, k_user_agent);
    if (!otlp) req.set("X-Prometheus-Remote-Write-Version", "0.1.0");
    req.keep_alive(true);

    up.client.target = std::move(*ep);
    up.client.timeout = o.timeout;
    // Every lane may hold a connection: keep at least that many between requests.
    up.client.max_idle = static_cast<std::size_t>(std::max(o.max_conns, o.max_shards));
    up.client.tls =
        tls_options{o.tls_ca_file, o.tls_cert_file, o.tls_key_file, o.tls_insecure_skip_verify};
    return up;
}

}  // namespace mg::exporter
