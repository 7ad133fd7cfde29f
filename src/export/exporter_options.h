// exporter_options: the export module's settings, as the module needs them and independent of
// how the daemon reads its configuration. The daemon fills them from its flags and YAML in one
// place (cmd/metrics-governor/wiring.h, which a unit test checks setting by setting); tests fill
// them directly. The defaults are the daemon's defaults (config/config.h); the wiring test keeps
// the two in step.
//
// check_options() is what exporter::check_settings() and create() check first; its messages
// name the daemon's flags (-exporter-endpoint, ...), because they are what an operator reads.
//
// Plain values; not synchronized.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace mg::exporter {

// The export queue: accepted data waiting for (or in) an upstream request.
struct queue_options {
    std::uint64_t max_bytes = 268435456;  // -queue-max-bytes; full => receivers answer 429
    // -queue-path: accepted data is also written here and survives a restart; empty = memory
    // only.
    std::string path;
    std::uint64_t max_disk_bytes = 1073741824;  // -queue-max-disk-bytes; full => 429

    bool operator==(const queue_options&) const = default;
};

struct exporter_options {
    // http:// or https:// URL (otlp-grpc: no path; https means TLS); empty = observe-only
    std::string endpoint;
    std::string protocol = "prw";  // prw (remote write 1.0) | otlp (OTLP/HTTP) | otlp-grpc
    int max_conns = 1;             // keep-alive connections kept open (at least max_shards)
    // Ordered lanes to the backend, one request in flight each (shard_scaler.h); min == max
    // fixes the count.
    int min_shards = 1;
    int max_shards = 16;
    // HTTP: per connect/handshake/write/read; otlp-grpc: the deadline of each call.
    std::chrono::nanoseconds timeout = std::chrono::seconds(30);
    // 0 = retry until delivered; else give up with reason retries_exhausted.
    std::chrono::nanoseconds max_retry_time = std::chrono::seconds(0);
    std::chrono::nanoseconds retry_backoff_base = std::chrono::milliseconds(100);
    std::chrono::nanoseconds retry_backoff_max = std::chrono::seconds(30);
    std::string tls_ca_file;  // empty: the system's CAs
    std::string tls_cert_file;
    std::string tls_key_file;
    bool tls_insecure_skip_verify = false;
    std::string bearer_token;
    std::string basic_auth_username;
    std::string basic_auth_password;
    std::string headers;               // "K1=V1,K2=V2"
    std::uint64_t batch_size = 10000;  // series (OTLP: data points) per upstream request
    std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);  // longest wait to fill one
    // How long a forwarded body waits for others to join its upstream request (capped at
    // flush_interval); 0: each goes as soon as its lane is free. export_queue::set_forward_linger.
    std::chrono::nanoseconds forward_linger = std::chrono::milliseconds(5);
    // OTLP exponential histograms become native histograms (prw only); docs/export.md.
    bool native_histograms = false;
    // OTLP names with unit and type suffixes (prw only); protocol::prw_conversion_options.
    bool otlp_name_suffixes = true;
    // The header (otlp-grpc: metadata key, lower-cased) carrying each payload's tenant to the
    // backend; empty: no tenant is sent (tenancy off). -exporter-tenant-header, or
    // -tenancy-header when that is empty.
    std::string tenant_header;
    queue_options queue;

    bool operator==(const exporter_options&) const = default;
};

// The protocol and the counts, and with an endpoint its URL, the headers and (https) the TLS
// files, which are loaded. Starts nothing.
status check_options(const exporter_options& o);

}  // namespace mg::exporter
