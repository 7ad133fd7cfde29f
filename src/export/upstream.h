// upstream: the backend as the exporter's options name it, checked and built once at startup:
// the parsed endpoint URL, the request every upstream request starts from (target, Host, the
// extra headers of -exporter-headers, auth, User-Agent, the remote-write version header), or for
// OTLP/gRPC the metadata of every call (the same headers and auth, keys lower-cased), and the
// client's options (timeout, idle pool size, TLS files). create() and check_settings() both
// build it, so they refuse the same settings with the same messages.
//
// Pure function over the options; the result is a value, immutable once built.
#pragma once

#include "common/result.h"
#include "export/exporter_options.h"
#include "export/http_client.h"

namespace mg::exporter {

struct upstream {
    http_client::request request_template;  // prw, otlp
    header_list metadata;                   // otlp-grpc
    client_options client;                  // client.target is the parsed endpoint
};

// Fails with "-exporter-endpoint: ..." or "-exporter-headers: ...". For otlp-grpc an endpoint
// with a path or query is refused (a gRPC method has a fixed path), and so is a header gRPC
// cannot carry as metadata. The TLS files are named in
// client.tls but not loaded (http_client::create and make_client_tls_context load them).
// The options must have an endpoint (not observe-only).
result<upstream> make_upstream(const exporter_options& o);

}  // namespace mg::exporter
