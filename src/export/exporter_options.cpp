#include "export/exporter_options.h"

#include <string>

#include "common/tenant_name.h"
#include "export/http_client.h"
#include "export/upstream.h"

namespace mg::exporter {

status check_options(const exporter_options& o) {
    if (o.protocol != "prw" && o.protocol != "otlp" && o.protocol != "otlp-grpc") {
        return make_error("-exporter-protocol: \"" + o.protocol +
                          "\" is not prw, otlp or otlp-grpc");
    }
    if (o.max_conns < 1) return make_error("-exporter-max-conns: must be at least 1");
    if (o.min_shards < 1 || o.max_shards < o.min_shards)
        return make_error(
            "-exporter-min-shards and -exporter-max-shards: need 1 <= min_shards <= max_shards "
            "(got " +
            std::to_string(o.min_shards) + " and " + std::to_string(o.max_shards) + ")");
    if (o.batch_size < 1) return make_error("-batch-size: must be at least 1");
    if (!o.tenant_header.empty()) {
        if (auto why = tenant_header_problem(o.tenant_header); !why.empty())
            return make_error("-exporter-tenant-header: " + why);
    }
    if (o.endpoint.empty()) return {};  // observe-only: nothing else is used
    // What create() builds first, with its messages; the TLS files are loaded once more there
    // (by the client), which costs a few milliseconds at startup. gRPC reads the same PEM files
    // only at its first handshake: OpenSSL loading them here gives OTLP/gRPC the same checks and
    // messages at startup.
    auto up = make_upstream(o);
    if (!up) return make_error(up.error_message());
    if (up->client.target.tls) {
        auto ctx = make_client_tls_context(up->client.tls);
        if (!ctx) return make_error(ctx.error_message());
    }
    return {};
}

}  // namespace mg::exporter
