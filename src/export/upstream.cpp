#include "export/upstream.h"

#include <algorithm>
#include <string_view>

#include "common/strings.h"
#include "export/endpoint.h"

namespace mg::exporter {

namespace {

constexpr std::string_view k_user_agent = "metrics-governor/0.1";

}  // namespace

result<upstream> make_upstream(const exporter_options& o) {
    namespace bhttp = boost::beast::http;
    const bool otlp = o.protocol == "otlp";
    auto ep = parse_endpoint(o.endpoint, otlp ? "/v1/metrics" : "/api/v1/write");
    if (!ep) return make_error("-exporter-endpoint: " + ep.error_message());
    auto headers = parse_headers(o.headers);
    if (!headers) return make_error("-exporter-headers: " + headers.error_message());

    upstream up;
    auto& req = up.request_template;
    for (const auto& [name, value] : *headers) req.set(name, value);
    if (!o.bearer_token.empty()) {
        req.set(bhttp::field::authorization, "Bearer " + o.bearer_token);
    } else if (!o.basic_auth_username.empty()) {
        req.set(bhttp::field::authorization,
                "Basic " + base64_encode(o.basic_auth_username + ":" + o.basic_auth_password));
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
