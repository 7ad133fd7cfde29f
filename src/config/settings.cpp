// The settings table: one row per setting (settings.h says how a row is written); the cluster
// section's rows are in cluster_settings.cpp, how values are parsed and shown in
// setting_values.cpp.
#include "config/settings.h"

#include <limits>

namespace mg::config::detail {

namespace {

// The access-control rows of one listener (Outer, Access: the member chain to its
// listener_access_config), under the YAML prefix ("receiver", "stats").
template <auto Outer, auto Access>
void add_access_rows(std::vector<setting>& rows, const std::string& prefix, group grp,
                     const std::string& what) {
    using la = listener_access_config;
    rows.push_back(make_setting<Outer, Access, &la::bearer_token>(
                       prefix + ".bearer_token", grp,
                       "Requests to " + what +
                           " must carry Authorization: Bearer <token>; empty "
                           "means no bearer token.")
                       .allow_empty()
                       .secret());
    rows.push_back(make_setting<Outer, Access, &la::bearer_token_file>(
                       prefix + ".bearer_token_file", grp,
                       "File holding the bearer token (trailing newline ignored), instead of " +
                           prefix + ".bearer_token.")
                       .allow_empty());
    rows.push_back(make_setting<Outer, Access, &la::basic_auth_username>(
                       prefix + ".basic_auth.username", grp,
                       "Requests to " + what +
                           " must carry HTTP basic auth with this user name "
                           "and the password; empty means no basic auth.")
                       .allow_empty());
    rows.push_back(make_setting<Outer, Access, &la::basic_auth_password>(
                       prefix + ".basic_auth.password", grp, "The basic auth password.")
                       .allow_empty()
                       .secret());
    rows.push_back(make_setting<Outer, Access, &la::basic_auth_password_file>(
                       prefix + ".basic_auth.password_file", grp,
                       "File holding the basic auth password (trailing newline ignored), instead "
                       "of " +
                           prefix + ".basic_auth.password.")
                       .allow_empty());
    rows.push_back(make_setting<Outer, Access, &la::tls_cert_file>(
                       prefix + ".tls.cert_file", grp,
                       "PEM server certificate (chain); set, the listener speaks HTTPS only. Needs "
                       "the key file; empty means plain HTTP.")
                       .allow_empty());
    rows.push_back(make_setting<Outer, Access, &la::tls_key_file>(
                       prefix + ".tls.key_file", grp, "PEM private key of the server certificate.")
                       .allow_empty());
    rows.push_back(make_setting<Outer, Access, &la::tls_client_ca_file>(
                       prefix + ".tls.client_ca_file", grp,
                       "PEM CA bundle: clients must present a certificate it verifies (mutual "
                       "TLS); empty means no client certificate is asked for.")
                       .allow_empty());
}

// THE TABLE. One row per setting; see settings.h for how a row is written. The flag is the YAML
// path with '.' and '_' turned into '-'. Rows of one group stay together, in help order.
std::vector<setting> build_rows() {
    std::vector<setting> rows;

    // General
    rows.push_back(
        make_setting<&app_config::config_file>(
            "config", group::general, "YAML configuration file; flags override its values.")
            .flag_only());
    rows.push_back(make_setting<&app_config::parallelism>(
                       "parallelism", group::general,
                       "I/O threads serving HTTP; 0 means one per hardware thread.")
                       .int_range(0, 1024));
    rows.push_back(make_setting<&app_config::shutdown_timeout>(
                       "shutdown_timeout", group::general,
                       "Longest graceful shutdown (drain, final save) before exiting anyway.")
                       .positive());
    rows.push_back(make_setting<&app_config::pid_file>(
                       "pid_file", group::general,
                       "File the daemon writes its PID to once its listeners are bound (and "
                       "removes when it stops), e.g. for kill -HUP; empty means none.")
                       .allow_empty());

    // Logging
    rows.push_back(make_setting<&app_config::log, &log_config::level>(
                       "log.level", group::logging, "Lowest level that is logged.")
                       .one_of({"trace", "debug", "info", "warn", "error"}));
    rows.push_back(make_setting<&app_config::log, &log_config::format>(
                       "log.format", group::logging,
                       "Log line format: one JSON object per line, or human-readable text.")
                       .one_of({"json", "text"}));

    // HTTP
    rows.push_back(make_setting<&app_config::http, &http_config::read_timeout>(
                       "http.read_timeout", group::http,
                       "Longest time to read one request (headers and body), on every listener.")
                       .positive());
    rows.push_back(make_setting<&app_config::http, &http_config::idle_timeout>(
                       "http.idle_timeout", group::http,
                       "Keep-alive connections idle this long are closed, on every listener.")
                       .positive());
    rows.push_back(make_setting<&app_config::http, &http_config::max_header_size>(
                       "http.max_header_size", group::http,
                       "Largest request header block accepted; larger requests get 431.")
                       .size_range(1024, 1024 * 1024));

    // Receivers
    using rc = receiver_config;
    rows.push_back(make_setting<&app_config::receiver, &rc::http_listen>(
                       "http.listen", group::receiver,
                       "Listen address of the ingest listener: POST /v1/metrics (OTLP/HTTP), "
                       "/api/v1/write and /write (Prometheus remote write).")
                       .listen_address());
    rows.push_back(
        make_setting<&app_config::receiver, &rc::prw_listen>(
            "prw.listen", group::receiver,
            "An extra listener for remote write only (/api/v1/write, /write); empty = none.")
            .listen_address()
            .allow_empty());
    rows.push_back(make_setting<&app_config::receiver, &rc::max_request_body_size>(
                       "receiver.max_request_body_size", group::receiver,
                       "Largest request body, compressed and again after decompression; larger "
                       "requests get 413.")
                       .size_range(1024, 4ULL * 1024 * 1024 * 1024));
    rows.push_back(
        make_setting<&app_config::receiver, &rc::max_connections>(
            "receiver.max_connections", group::receiver,
            "Open connections per ingest listener; at the limit the connection idle or "
            "reading the longest makes room (reason evicted), else the new one is closed "
            "as soon as it is accepted (reason max_connections). Bounded by default so a flood "
            "of idle connections cannot use up file descriptors and memory; a warning "
            "at startup says when it does not fit in the descriptor limit. 0 means "
            "unbounded.")
            .int_range(0, 10000000));
    rows.push_back(
        make_setting<&app_config::receiver, &rc::max_inflight_bytes>(
            "receiver.max_inflight_bytes", group::receiver,
            "Bytes of request bodies being read and handled at once, over every ingest "
            "connection; past it a new request gets 429 with Retry-After before its body "
            "is read (counted, reason inflight_bytes). 0 means auto: a quarter of the memory "
            "the process may use (cgroup limit, else physical memory), within 128MB..1GB.")
            .size_range(0, std::uint64_t{1} << 40));
    rows.push_back(
        make_setting<&app_config::receiver, &rc::max_labels_per_series>(
            "max_labels_per_series", group::receiver,
            "Series with more labels (besides __name__) are dropped, reason too_many_labels.")
            .int_range(1, 1000));
    rows.push_back(make_setting<&app_config::receiver, &rc::max_label_name_len>(
                       "max_label_name_len", group::receiver,
                       "Series with a longer label name are dropped, reason label_name_too_long.")
                       .int_range(1, 65536));
    rows.push_back(make_setting<&app_config::receiver, &rc::max_label_value_len>(
                       "max_label_value_len", group::receiver,
                       "Series with a longer label value are dropped, reason label_value_too_long.")
                       .int_range(1, 1024 * 1024));
    add_access_rows<&app_config::receiver, &rc::access>(rows, "receiver", group::receiver,
                                                        "the ingest listeners");
    using gc = grpc_config;
    rows.push_back(make_setting<&app_config::grpc, &gc::listen>(
                       "grpc.listen", group::receiver,
                       "Listen address of the OTLP/gRPC listener (MetricsService/Export); empty "
                       "= none. It takes the receiver's body limit, credentials and TLS files.")
                       .listen_address()
                       .allow_empty());
    rows.push_back(make_setting<&app_config::grpc, &gc::max_concurrent_streams>(
                       "grpc.max_concurrent_streams", group::receiver,
                       "Calls one gRPC connection may have open at once (HTTP/2 "
                       "SETTINGS_MAX_CONCURRENT_STREAMS).")
                       .int_range(1, 100000));
    rows.push_back(make_setting<&app_config::grpc, &gc::keepalive_time>(
                       "grpc.keepalive_time", group::receiver,
                       "The gRPC listener pings a connection that was quiet this long.")
                       .positive());
    rows.push_back(make_setting<&app_config::grpc, &gc::keepalive_timeout>(
                       "grpc.keepalive_timeout", group::receiver,
                       "A gRPC connection whose ping is not answered within this is closed.")
                       .positive());
    rows.push_back(make_setting<&app_config::grpc, &gc::max_connection_idle>(
                       "grpc.max_connection_idle", group::receiver,
                       "A gRPC connection with no call for this long is closed (GOAWAY).")
                       .positive());

    // Tenancy: where a request's tenant comes from (docs/configuration.md, "Tenancy").
    using tc = tenancy_config;
    const auto te = group::tenancy;
    rows.push_back(make_setting<&app_config::tenancy, &tc::source>(
                       "tenancy.source", te,
                       "Where each series' tenant comes from: none (tenancy off: one default "
                       "tenant, nothing forwarded), header (a request header; gRPC: its metadata), "
                       "label (a label of each series; one request may carry several tenants) or "
                       "fixed (tenancy.default_tenant for everything).")
                       .one_of({"none", "header", "label", "fixed"}));
    rows.push_back(make_setting<&app_config::tenancy, &tc::header>(
        "tenancy.header", te,
        "Request header naming the tenant (source header); over gRPC the metadata key of the "
        "same name in lower case. Also the header the backend gets, unless "
        "exporter.tenant_header."));
    rows.push_back(make_setting<&app_config::tenancy, &tc::label>(
                       "tenancy.label", te,
                       "Label naming each series' tenant (source label), e.g. tenant or "
                       "namespace; the series keep it.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::tenancy, &tc::default_tenant>(
        "tenancy.default_tenant", te,
        "The tenant of everything with source fixed; with header or label the tenant of a "
        "request (series) that carries none."));
    rows.push_back(make_setting<&app_config::tenancy, &tc::require_tenant>(
        "tenancy.require_tenant", te,
        "Refuse what carries no tenant instead of giving it the default tenant: 401 for a "
        "request without the header (gRPC UNAUTHENTICATED), 400 for a series without the label "
        "(gRPC INVALID_ARGUMENT)."));
    rows.push_back(make_setting<&app_config::tenancy, &tc::max_tenant_length>(
                       "tenancy.max_tenant_length", te,
                       "Longest tenant in bytes; a longer one gets 400 (counted, reason "
                       "bad_tenant).")
                       .int_range(1, 65535));

    // Stats
    rows.push_back(make_setting<&app_config::stats, &stats_config::addr>(
                       "stats.addr", group::stats,
                       "Listen address of /metrics, /live, /ready and /api/v1/cardinality.")
                       .listen_address());
    rows.push_back(make_setting<&app_config::stats, &stats_config::top_n>(
                       "stats.top_n", group::stats,
                       "Metrics (largest first) exported with their own "
                       "metrics_governor_metric_cardinality series.")
                       .int_range(1, 100000));
    add_access_rows<&app_config::stats, &stats_config::access>(
        rows, "stats", group::stats, "the cardinality API of the stats listener");
    rows.push_back(make_setting<&app_config::stats, &stats_config::protect_metrics>(
        "stats.protect_metrics", group::stats,
        "With stats credentials set, /metrics and the /ui page's files need them too; /live and "
        "/ready always stay open for probes."));
    rows.push_back(make_setting<&app_config::ui, &ui_config::show_dropped_samples>(
        "ui.show_dropped_samples", group::stats,
        "Keep a bounded sample of recently dropped series (label values cut to 32 bytes) and show "
        "it on the /ui page; off, nothing about dropped series is collected."));
    rows.push_back(
        make_setting<&app_config::ui, &ui_config::history_interval>(
            "ui.history_interval", group::stats,
            "How often the cardinality history of /ui and "
            "/api/v1/cardinality/history is sampled (240 samples are kept; whole seconds, at "
            "least 1s).")
            .positive());

    // Cardinality: sizing and windowing of the per-metric trackers.
    using cc = cardinality_config;
    rows.push_back(make_setting<&app_config::cardinality, &cc::expected_items>(
                       "cardinality.expected_items", group::cardinality,
                       "Series a tracker is sized for; past it the tracker grows, keeping the "
                       "false-positive rate.")
                       .int_range(1, 1000000000));
    rows.push_back(make_setting<&app_config::cardinality, &cc::fp_rate>(
                       "cardinality.fp_rate", group::cardinality,
                       "Target Bloom false-positive rate over all generations of a tracker.")
                       .real_range(0, 0.5, lower_bound::exclusive));
    rows.push_back(make_setting<&app_config::cardinality, &cc::generations>(
                       "cardinality.generations", group::cardinality,
                       "Generations the window is split into; a series unseen for a whole "
                       "window stops counting.")
                       .int_range(1, 64));
    rows.push_back(make_setting<&app_config::cardinality, &cc::window>(
                       "cardinality.window", group::cardinality,
                       "A series counts as active while it was seen within this window.")
                       .positive());

    // Limits
    rows.push_back(make_setting<&app_config::limits, &limits_config::config>(
                       "limits.config", group::limits,
                       "Limits file (YAML rules, see docs/limits.md); empty means no limits "
                       "file. Reloaded on SIGHUP.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::limits, &limits_config::dry_run>(
        "limits.dry_run", group::limits,
        "Count and log what the limits would drop, but never change data."));
    rows.push_back(make_setting<&app_config::limits, &limits_config::max_series>(
                       "limits.max_series", group::limits,
                       "Global cap on active series over all metrics; 0 means no cap.")
                       .int_range(0, std::numeric_limits<std::int64_t>::max()));
    rows.push_back(make_setting<&app_config::limits, &limits_config::max_tenants_in_metrics>(
                       "limits.max_tenants_in_metrics", group::limits,
                       "Tenants with their own tenant label value in the per-tenant metrics (the "
                       "first ones seen); the rest are summed as __other__.")
                       .int_range(0, 100000));
    rows.push_back(make_setting<&app_config::overflow, &overflow_config::interval>(
                       "overflow.interval", group::limits,
                       "How often overflow series (rules with action overflow) are emitted; a "
                       "rule's overflow_interval overrides it. At least 1s.")
                       .positive());

    // Bloom persistence: the operator spec's bloom_persistence section, key for key.
    using bp = bloom_persistence_config;
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::enabled>(
        "bloom_persistence.enabled", group::bloom_persistence,
        "Enable bloom filter state persistence (save periodically, restore at start)."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::path>(
        "bloom_persistence.path", group::bloom_persistence, "Directory for persistence files."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::save_interval>(
                       "bloom_persistence.save_interval", group::bloom_persistence,
                       "Interval between periodic saves.")
                       .positive());
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::state_ttl>(
                       "bloom_persistence.state_ttl", group::bloom_persistence,
                       "Time after which unused trackers are cleaned up.")
                       .positive());
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::cleanup_interval>(
                       "bloom_persistence.cleanup_interval", group::bloom_persistence,
                       "Interval between cleanup runs.")
                       .positive());
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::max_size>(
        "bloom_persistence.max_size", group::bloom_persistence,
        "Maximum disk space for bloom state; 0 = no limit."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::max_memory>(
        "bloom_persistence.max_memory", group::bloom_persistence,
        "Maximum memory for in-memory bloom filters (trackers and label sketches); 0 = no limit."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::compression>(
        "bloom_persistence.compression", group::bloom_persistence,
        "Enable gzip compression for state files."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::compression_level>(
                       "bloom_persistence.compression_level", group::bloom_persistence,
                       "Gzip compression level (1=fast, 9=best).")
                       .int_range(1, 9));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::incremental>(
        "bloom_persistence.incremental", group::bloom_persistence,
        "Incremental saves: between whole-tracker files, write only the changed chunks of each "
        "tracker's current generation."));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::chunk_size>(
                       "bloom_persistence.chunk_size", group::bloom_persistence,
                       "Bytes of filter per increment chunk, a multiple of 64 (one filter "
                       "block): a new series changes one block, so 64 writes least.")
                       .size_range(64, 1024 * 1024));
    rows.push_back(make_setting<&app_config::bloom_persistence, &bp::snapshot_ratio>(
                       "bloom_persistence.snapshot_ratio", group::bloom_persistence,
                       "A tracker's increments stay within this share of its file's size: one that "
                       "would pass it is written as the whole file instead.")
                       .real_range(0, 100, lower_bound::exclusive));

    // Export: the upstream backend, batching, retries, TLS, auth, and the queue in front of it.
    // batch_size and flush_interval sit at the top level so their flags are -batch-size and
    // -flush-interval, as the proxy spec names them.
    using ec = exporter_config;
    const auto ex = group::exporter;
    rows.push_back(make_setting<&app_config::exporter, &ec::endpoint>(
                       "exporter.endpoint", ex,
                       "Backend URL (http:// or https://); a URL without a path gets "
                       "/api/v1/write (prw) or /v1/metrics (otlp); otlp-grpc takes none "
                       "(https:// means TLS). Empty means observe-only: kept series are counted "
                       "and discarded.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::exporter, &ec::protocol>(
                       "exporter.protocol", ex,
                       "What the backend speaks: prw (remote write 1.0, snappy), otlp "
                       "(OTLP/HTTP protobuf, gzip) or otlp-grpc (OTLP/gRPC, gzip; the endpoint "
                       "is http://host:port or https://host:port, without a path).")
                       .one_of({"prw", "otlp", "otlp-grpc"}));
    rows.push_back(make_setting<&app_config::exporter, &ec::max_conns>(
                       "exporter.max_conns", ex,
                       "Keep-alive connections kept open to the backend between requests (at least "
                       "the number of shards). Requests in flight are one per shard.")
                       .int_range(1, 256));
    rows.push_back(
        make_setting<&app_config::exporter, &ec::min_shards>(
            "exporter.min_shards", ex,
            "Fewest ordered lanes to the backend. Each has one request in flight and "
            "carries the series hash(series) % shards, so retries never reorder a series. "
            "One shard forwards a request's own bytes when nothing was dropped.")
            .int_range(1, 256));
    rows.push_back(make_setting<&app_config::exporter, &ec::max_shards>(
                       "exporter.max_shards", ex,
                       "Most ordered lanes; between min and max the count doubles when the lanes "
                       "are busy and data waits (a distant backend) and halves when they idle. "
                       "min_shards = max_shards fixes it.")
                       .int_range(1, 256));
    rows.push_back(make_setting<&app_config::exporter, &ec::timeout>(
                       "exporter.timeout", ex,
                       "Longest connect, TLS handshake, request write or response read; with "
                       "otlp-grpc the deadline of each call.")
                       .positive());
    rows.push_back(make_setting<&app_config::exporter, &ec::max_retry_time>(
        "exporter.max_retry_time", ex,
        "Give up on a batch retried for this long (counted as dropped); 0 means retry until "
        "delivered while the queue absorbs the back-pressure."));
    rows.push_back(make_setting<&app_config::exporter, &ec::retry_backoff_base>(
                       "exporter.retry_backoff_base", ex,
                       "First retry delay; doubles per attempt, with full jitter.")
                       .positive());
    rows.push_back(make_setting<&app_config::exporter, &ec::retry_backoff_max>(
                       "exporter.retry_backoff_max", ex, "Largest retry delay (before jitter).")
                       .positive());
    rows.push_back(make_setting<&app_config::exporter, &ec::tls_ca_file>(
                       "exporter.tls.ca_file", ex,
                       "PEM CA bundle that verifies the backend; empty means the system CAs.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::exporter, &ec::tls_cert_file>(
                       "exporter.tls.cert_file", ex,
                       "PEM client certificate (chain) for mutual TLS; needs the key file.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::exporter, &ec::tls_key_file>(
                       "exporter.tls.key_file", ex, "PEM private key of the client certificate.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::exporter, &ec::tls_insecure_skip_verify>(
        "exporter.tls.insecure_skip_verify", ex,
        "Do not verify the backend's certificate or name (testing only)."));
    rows.push_back(
        make_setting<&app_config::exporter, &ec::bearer_token>(
            "exporter.bearer_token", ex, "Sent as Authorization: Bearer <token>; empty means none.")
            .allow_empty()
            .secret());
    rows.push_back(make_setting<&app_config::exporter, &ec::basic_auth_username>(
                       "exporter.basic_auth.username", ex,
                       "HTTP basic auth user name; empty means no basic auth.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::exporter, &ec::basic_auth_password>(
                       "exporter.basic_auth.password", ex, "HTTP basic auth password.")
                       .allow_empty()
                       .secret());
    rows.push_back(make_setting<&app_config::exporter, &ec::headers>(
                       "exporter.headers", ex,
                       "Extra request headers, \"Name1=value1,Name2=value2\". Secret: values "
                       "often carry credentials.")
                       .allow_empty()
                       .secret());
    rows.push_back(make_setting<&app_config::exporter, &ec::native_histograms>(
        "exporter.native_histograms", ex,
        "Export OTLP exponential histograms as native histograms (prw only). Only for a backend "
        "that stores them (Prometheus with --enable-feature=native-histograms); others answer 500 "
        "(retried forever) or drop them. Off: they are dropped and counted."));
    rows.push_back(make_setting<&app_config::exporter, &ec::otlp_name_suffixes>(
        "exporter.otlp_name_suffixes", ex,
        "OTLP metric names get unit and type suffixes (prw only), as Prometheus' OTLP translator "
        "names them by default: a counter \"requests\" of unit \"s\" becomes "
        "requests_seconds_total. Off: the names as sent, invalid characters replaced."));
    rows.push_back(make_setting<&app_config::exporter, &ec::tenant_header>(
                       "exporter.tenant_header", ex,
                       "Header (otlp-grpc: metadata key, lower case) carrying each request's "
                       "tenant to the backend; empty means the same name as tenancy.header. "
                       "Batches never mix tenants. Needs tenancy.source other than none.")
                       .allow_empty());
    rows.push_back(
        make_setting<&app_config::exporter, &ec::batch_size>(
            "batch_size", ex, "Series (OTLP: data points) per upstream request, at most.")
            .int_range(1, 10000000));
    rows.push_back(make_setting<&app_config::exporter, &ec::flush_interval>(
                       "flush_interval", ex,
                       "Longest time a series waits for its batch to fill before it is sent.")
                       .positive());
    rows.push_back(make_setting<&app_config::exporter, &ec::forward_linger>(
        "exporter.forward_linger", ex,
        "How long a sender's request forwarded as it came (and a request's part for one lane) "
        "waits for others to join it in one upstream request, at most flush_interval; 0 sends "
        "each as soon as its lane is free (one upstream request per ingest request)."));
    rows.push_back(make_setting<&app_config::queue, &queue_config::max_bytes>(
                       "queue.max_bytes", ex,
                       "Memory for accepted data not yet delivered (queued and in flight); when "
                       "full, receivers answer 429 with Retry-After.")
                       .size_range(1024 * 1024, std::uint64_t{1} << 40));
    rows.push_back(make_setting<&app_config::queue, &queue_config::path>(
                       "queue.path", ex,
                       "Directory of the disk queue: accepted data is also written (and synced) "
                       "there and delivered after a restart; empty means memory only.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::queue, &queue_config::max_disk_bytes>(
                       "queue.max_disk_bytes", ex,
                       "Disk space of the disk queue; when full, receivers answer 429 with "
                       "Retry-After.")
                       .size_range(1024 * 1024, std::uint64_t{1} << 42));

    add_cluster_rows(rows);  // cluster_settings.cpp
    return rows;
}

std::string flag_for(std::string_view key) {
    std::string flag = "-";
    for (char c : key) flag += (c == '.' || c == '_') ? '-' : c;
    return flag;
}

}  // namespace

const std::vector<setting>& settings_table() {
    static const std::vector<setting> table = [] {
        std::vector<setting> rows = build_rows();
        const app_config defaults;
        for (auto& s : rows) {
            if (s.is_flag_only) {
                s.info.flag = "-" + s.info.yaml_path;
                s.info.yaml_path.clear();
            } else if (!s.own_flag.empty()) {
                s.info.flag = s.own_flag;
            } else {
                s.info.flag = flag_for(s.info.yaml_path);
            }
            s.info.type_name = std::string(type_name_of(s));
            s.info.accepted = accepted_form(s);
            s.info.group = std::string(group_name(s.grp));
            s.info.default_text = s.info.secret ? "<redacted>" : s.render(defaults);
        }
        return rows;
    }();
    return table;
}

const setting* find_by_yaml_path(std::string_view path) {
    for (const auto& s : settings_table()) {
        if (!s.is_flag_only && s.info.yaml_path == path) return &s;
    }
    return nullptr;
}

std::string_view group_name(group g) {
    switch (g) {
        case group::general:
            return "General";
        case group::logging:
            return "Logging";
        case group::http:
            return "HTTP";
        case group::receiver:
            return "Receivers";
        case group::tenancy:
            return "Tenancy";
        case group::stats:
            return "Stats";
        case group::cardinality:
            return "Cardinality";
        case group::limits:
            return "Limits";
        case group::bloom_persistence:
            return "Bloom persistence";
        case group::exporter:
            return "Export";
        case group::cluster:
            return "Cluster";
    }
    return "General";
}

}  // namespace mg::config::detail

namespace mg::config {

const std::vector<setting_info>& all_settings() {
    static const std::vector<setting_info> infos = [] {
        std::vector<setting_info> out;
        for (const auto& s : detail::settings_table()) out.push_back(s.info);
        return out;
    }();
    return infos;
}

const std::vector<std::string>& group_names() {
    using detail::group;
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (auto g : {group::general, group::logging, group::http, group::receiver, group::tenancy,
                       group::stats, group::cardinality, group::limits, group::bloom_persistence,
                       group::exporter, group::cluster}) {
            out.emplace_back(detail::group_name(g));
        }
        return out;
    }();
    return names;
}

}  // namespace mg::config
