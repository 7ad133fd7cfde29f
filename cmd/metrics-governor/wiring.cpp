#include "wiring.h"

#include <algorithm>

#include "config/listen_address.h"

namespace mg::cmd {

namespace {

// The stats listener takes no request bodies (the stats API has none).
constexpr std::uint64_t k_stats_max_body = 64 * 1024;

limits::governor_options governor_options_from(const config::app_config& cfg) {
    limits::governor_options o;
    o.tracker.expected_items = cfg.cardinality.expected_items;
    o.tracker.fp_rate = cfg.cardinality.fp_rate;
    o.tracker.generations = static_cast<std::uint32_t>(cfg.cardinality.generations);
    o.tracker.window = cfg.cardinality.window;
    o.dry_run = cfg.limits.dry_run;
    o.max_series = cfg.limits.max_series;
    o.max_tenants_in_metrics = static_cast<std::size_t>(cfg.limits.max_tenants_in_metrics);
    // The name the stats API and metrics show for the default tenant ("" inside the governor).
    o.default_tenant_name = cfg.tenancy.default_tenant;
    return o;
}

persistence::persistence_options persistence_options_from(const config::app_config& cfg) {
    const auto& bp = cfg.bloom_persistence;
    return {.path = bp.path,
            .save_interval = bp.save_interval,
            .state_ttl = bp.state_ttl,
            .cleanup_interval = bp.cleanup_interval,
            .max_size = bp.max_size,
            .max_memory = bp.max_memory,
            .compression = bp.compression,
            .compression_level = bp.compression_level,
            // The final save's budget is the daemon's one shutdown budget.
            .shutdown_timeout = cfg.shutdown_timeout,
            .incremental = bp.incremental,
            .chunk_size = bp.chunk_size,
            .snapshot_ratio = bp.snapshot_ratio};
}

ingest::tenant_source tenant_source_from(const std::string& s) {
    return s == "header"  ? ingest::tenant_source::header
           : s == "label" ? ingest::tenant_source::label
           : s == "fixed" ? ingest::tenant_source::fixed
                          : ingest::tenant_source::none;
}

ingest::receiver_options receiver_options_from(const config::app_config& cfg) {
    const auto& r = cfg.receiver;
    const auto& t = cfg.tenancy;
    return {.max_body_size = r.max_request_body_size,
            .max_labels_per_series = static_cast<std::size_t>(r.max_labels_per_series),
            .max_label_name_len = static_cast<std::size_t>(r.max_label_name_len),
            .max_label_value_len = static_cast<std::size_t>(r.max_label_value_len),
            .tenancy = {.source = tenant_source_from(t.source),
                        .header = t.header,
                        .label = t.label,
                        .default_tenant = t.default_tenant,
                        .require_tenant = t.require_tenant,
                        .max_tenant_length = static_cast<std::size_t>(t.max_tenant_length)}};
}

http::server_options server_options_from(const config::app_config& cfg, std::string name,
                                         std::uint64_t max_body_size,
                                         std::uint64_t max_connections) {
    http::server_options o;
    o.name = std::move(name);
    o.max_header_size = cfg.http.max_header_size;
    o.max_body_size = max_body_size;
    o.read_timeout = cfg.http.read_timeout;
    o.idle_timeout = cfg.http.idle_timeout;
    o.max_connections = static_cast<std::size_t>(max_connections);
    return o;
}

grpc_ingest::grpc_options grpc_options_from(const config::app_config& cfg) {
    const auto& g = cfg.grpc;
    const auto& access = cfg.receiver.access;
    grpc_ingest::grpc_options o{.listen = g.listen,
                                .bind_address = {},  // below
                                .bind_host = {},
                                .max_message_size = cfg.receiver.max_request_body_size,
                                .max_concurrent_streams = g.max_concurrent_streams,
                                .keepalive_time = g.keepalive_time,
                                .keepalive_timeout = g.keepalive_timeout,
                                .max_connection_idle = g.max_connection_idle,
                                .read_timeout = cfg.http.read_timeout,
                                .tls_cert_file = access.tls_cert_file,
                                .tls_key_file = access.tls_key_file,
                                .tls_client_ca_file = access.tls_client_ca_file};
    // The address as gRPC binds it: brackets around an IPv6 host, every interface for none. A
    // bad address was refused with the configuration; it is left unbound here (start() fails).
    if (const auto where = config::parse_listen_address(g.listen); where.ok()) {
        o.bind_host =
            where->host.find(':') != std::string::npos ? "[" + where->host + "]" : where->host;
        o.bind_address = (o.bind_host.empty() ? std::string("[::]") : o.bind_host) + ":" +
                         std::to_string(where->port);
    }
    return o;
}

}  // namespace

exporter::exporter_options exporter_options_from(const config::app_config& cfg) {
    const auto& e = cfg.exporter;
    exporter::exporter_options o;
    o.endpoint = e.endpoint;
    o.protocol = e.protocol;
    o.max_conns = e.max_conns;
    o.min_shards = e.min_shards;
    o.max_shards = e.max_shards;
    o.timeout = e.timeout;
    o.max_retry_time = e.max_retry_time;
    o.retry_backoff_base = e.retry_backoff_base;
    o.retry_backoff_max = e.retry_backoff_max;
    o.tls_ca_file = e.tls_ca_file;
    o.tls_cert_file = e.tls_cert_file;
    o.tls_key_file = e.tls_key_file;
    o.tls_insecure_skip_verify = e.tls_insecure_skip_verify;
    o.bearer_token = e.bearer_token;
    o.basic_auth_username = e.basic_auth_username;
    o.basic_auth_password = e.basic_auth_password;
    o.headers = e.headers;
    o.batch_size = e.batch_size;
    o.flush_interval = e.flush_interval;
    o.forward_linger = e.forward_linger;
    o.native_histograms = e.native_histograms;
    o.otlp_name_suffixes = e.otlp_name_suffixes;
    // The tenant goes to the backend only with tenancy on, under the exporter's own name or
    // the one it came in.
    if (cfg.tenancy.source != "none")
        o.tenant_header = e.tenant_header.empty() ? cfg.tenancy.header : e.tenant_header;
    o.queue.max_bytes = cfg.queue.max_bytes;
    o.queue.path = cfg.queue.path;
    o.queue.max_disk_bytes = cfg.queue.max_disk_bytes;
    return o;
}

std::optional<cluster::cluster_options> cluster_options_from(const config::app_config& cfg) {
    const auto& c = cfg.cluster;
    if (!c.enabled()) return std::nullopt;
    cluster::cluster_options o;
    o.client.addresses = c.addresses;
    o.client.cluster = c.redis_cluster;
    o.client.connection.username = c.username;
    o.client.connection.password = c.auth_password();
    o.client.connection.db = c.db;
    o.client.connection.tls.enabled = c.tls_enabled;
    o.client.connection.tls.ca_file = c.tls_ca_file;
    o.client.connection.tls.cert_file = c.tls_cert_file;
    o.client.connection.tls.key_file = c.tls_key_file;
    o.client.connection.tls.insecure_skip_verify = c.tls_insecure_skip_verify;
    o.client.connection.tls.server_name = c.tls_server_name;
    o.admission.key_prefix = c.key_prefix;
    // The shared limits cover the trackers' window, in the periods of cluster_options.h.
    o.admission.window =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.cardinality.window);
    o.admission.generations = cluster::k_redis_generations;
    o.admission.fp_rate = cluster::k_redis_fp_rate;
    o.admission.timeout =
        std::max(std::chrono::milliseconds(1),
                 std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout));
    o.policy = c.failure_policy == "open"     ? limits::cluster_failure_policy::open
               : c.failure_policy == "closed" ? limits::cluster_failure_policy::closed
                                              : limits::cluster_failure_policy::local;
    return o;
}

module_options module_options_from(const config::app_config& cfg) {
    module_options o;
    o.governor = governor_options_from(cfg);
    o.cardinality_top_n = static_cast<std::size_t>(cfg.stats.top_n);
    o.history.interval =
        std::max(std::chrono::seconds(1),
                 std::chrono::duration_cast<std::chrono::seconds>(cfg.ui.history_interval));
    o.show_dropped_samples = cfg.ui.show_dropped_samples;
    if (cfg.bloom_persistence.enabled) o.persistence = persistence_options_from(cfg);
    o.cluster = cluster_options_from(cfg);
    o.exporter = exporter_options_from(cfg);
    o.receiver = receiver_options_from(cfg);
    o.overflow.default_interval =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.overflow.interval);
    o.max_inflight_bytes = cfg.receiver.max_inflight_bytes;
    o.ingest_server = server_options_from(cfg, "ingest", cfg.receiver.max_request_body_size,
                                          cfg.receiver.max_connections);
    o.stats_server = server_options_from(cfg, "stats", k_stats_max_body, 0);
    o.grpc = grpc_options_from(cfg);
    return o;
}

}  // namespace mg::cmd
