// The daemon's configuration: one typed struct per module, filled from defaults, then a YAML file
// (-config), then command-line flags, in that order of increasing precedence.
//
// Every setting is a row of the table in config/settings.cpp: the row gives its YAML path (the
// flag name is derived from it unless the row names its own), help text, group and constraints,
// and points at its field here.
// Flag registration, the YAML overlay, unknown-key detection, -help, -show-effective-config and
// the docs test are all driven by that table. To add a setting: add the field (with its default)
// below, add one row to the table, and document it in docs/configuration.md (a test enforces it).
//
// The structs are plain values: the daemon builds one app_config at startup and hands each module
// its own section by const reference. Nothing here is global or synchronized.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/listen_address.h"

namespace mg::config {

using namespace std::chrono_literals;

struct log_config {
    std::string level = "info";   // trace|debug|info|warn|error
    std::string format = "json";  // json|text
};

// Limits applied to every HTTP listener (ingest and stats).
struct http_config {
    std::chrono::nanoseconds read_timeout = 30s;
    std::chrono::nanoseconds idle_timeout = 120s;
    std::uint64_t max_header_size = 16384;
};

// Access control of one of the daemon's own listeners: who may call it (a bearer token or basic
// auth, one kind at a time) and TLS. Empty strings mean off. The *_file settings name a file
// holding the secret (so it need not be in argv); parse_command_line reads it into the
// loaded_* field (not a setting, so never printed), and the listener asks token() and password().
struct listener_access_config {
    const std::string& token() const {
        return bearer_token.empty() ? loaded_bearer_token : bearer_token;
    }
    const std::string& password() const {
        return basic_auth_password.empty() ? loaded_basic_auth_password : basic_auth_password;
    }

    std::string bearer_token;
    std::string bearer_token_file;
    std::string basic_auth_username;
    std::string basic_auth_password;
    std::string basic_auth_password_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;          // set: clients must present a certificate it verifies
    std::string loaded_bearer_token;         // the content of bearer_token_file
    std::string loaded_basic_auth_password;  // the content of basic_auth_password_file
};

// The ingest listeners and the per-series complexity limits applied before the governor.
struct receiver_config {
    std::string http_listen = ":4318";  // OTLP/HTTP and remote write
    std::string prw_listen;             // an extra remote-write-only listener; empty = none
    std::uint64_t max_request_body_size = 64ULL * 1024 * 1024;  // before and after decompression
    // Open connections per ingest listener; past it new connections are closed at once. Bounded
    // by default so a flood of idle connections cannot use up file descriptors and memory.
    std::uint64_t max_connections = 10000;
    // Bytes of request bodies being read and handled at once, over all ingest connections; past
    // it new requests get 429 before their body is read. 0 = auto: a quarter of the memory the
    // process may use (cgroup limit, else physical memory), between 128MiB and 1GiB.
    std::uint64_t max_inflight_bytes = 0;
    int max_labels_per_series = 40;
    int max_label_name_len = 256;
    int max_label_value_len = 4096;
    listener_access_config access;  // every ingest listener
};

// The OTLP/gRPC listener (src/grpc_ingest). Its message limit, credentials and TLS files are the
// receiver's (every ingest listener's); its handshake and message read time http.read_timeout.
struct grpc_config {
    std::string listen = ":4317";      // empty = no gRPC listener
    int max_concurrent_streams = 100;  // per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)
    std::chrono::nanoseconds keepalive_time = 2h;         // ping a connection quiet this long
    std::chrono::nanoseconds keepalive_timeout = 20s;     // close it when the ping is not answered
    std::chrono::nanoseconds max_connection_idle = 5min;  // close a connection with no call
};

// Tenants (docs/configuration.md, "Tenancy"): where a request's tenant comes from, the tenant of
// requests that carry none, and the bounds a tenant string must keep. source none is tenancy off:
// every series is the default tenant's and nothing about export changes.
struct tenancy_config {
    std::string source = "none";           // none | header | label | fixed
    std::string header = "X-Scope-OrgID";  // source header (gRPC: its metadata key, lower-case)
    std::string label;                     // source label: the label naming each series' tenant
    // source fixed: THE tenant; header and label: the tenant of what carries none.
    std::string default_tenant = "default";
    bool require_tenant = false;  // refuse what carries no tenant (401 / 400) instead
    int max_tenant_length = 128;  // bytes; longer tenants get 400
};

struct stats_config {
    std::string addr = ":9090";
    int top_n = 100;  // metrics with a metrics_governor_metric_cardinality series
    // Credentials guard the cardinality API (and any state-revealing or state-changing route);
    // /live and /ready stay open for probes, /metrics too unless protect_metrics.
    listener_access_config access;
    bool protect_metrics = false;
};

// The cardinality page (/ui) on the stats listener and its history (src/ui).
struct ui_config {
    // Keep a bounded sample of recently dropped series (label values cut short) for the page;
    // off: nothing about dropped series is collected.
    bool show_dropped_samples = false;
    // How often the history is sampled; the ring holds 240 samples (1 h at 15 s).
    std::chrono::nanoseconds history_interval = 15s;
};

// Sizing and windowing of the per-metric Bloom trackers (the cardinality module's tracker_config).
struct cardinality_config {
    std::uint64_t expected_items = 100000;  // series a tracker is sized for before it grows
    double fp_rate = 0.01;                  // false-positive rate over all generations
    int generations = 3;
    std::chrono::nanoseconds window = 1h;  // a series is active when seen within this
};

// The limits file and the switches around it (the limits module's own types hold the rules).
struct limits_config {
    std::string config;  // path of the limits YAML file; empty = no limits file
    bool dry_run = false;
    std::uint64_t max_series = 0;  // global cap on active series; 0 = none
    // Tenants with their own `tenant` label value in the tenant metric families.
    std::uint64_t max_tenants_in_metrics = 100;
};

// Overflow series (issue 21, docs/overflow.md): the rules' own keys are in the limits file; this is
// the daemon-wide default of how often an overflow series is emitted.
struct overflow_config {
    std::chrono::nanoseconds interval = 15s;  // a rule's overflow_interval overrides it
};

// The bloom_persistence section of the operator spec, with its keys and defaults.
struct bloom_persistence_config {
    bool enabled = false;
    std::string path = "./bloom-state";
    // 5s, not the spec's 30s: with incremental saves a pass writes only what changed (one chunk
    // per new series), so a crash forgets at most 5 s of new series (docs/persistence.md).
    std::chrono::nanoseconds save_interval = 5s;
    std::chrono::nanoseconds state_ttl = 1h;
    std::chrono::nanoseconds cleanup_interval = 5min;
    std::uint64_t max_size = 524288000;    // 500MB of disk
    std::uint64_t max_memory = 268435456;  // 256MB of in-memory filters
    bool compression = true;
    int compression_level = 1;      // gzip, 1 (fast) .. 9 (best)
    bool incremental = true;        // between whole-tracker saves, write only the changed chunks
    std::uint64_t chunk_size = 64;  // bytes of filter per increment chunk, a multiple of 64
    double snapshot_ratio = 0.5;    // a whole-tracker save once increments reach this share
};

// The exporter (src/export): where kept series go, how they are batched, retried and secured.
// An empty endpoint is observe-only mode: kept series are counted and discarded.
struct exporter_config {
    std::string endpoint;          // http:// or https:// URL; empty = observe-only
    std::string protocol = "prw";  // prw (remote write 1.0) | otlp (OTLP/HTTP protobuf) | otlp-grpc
    int max_conns = 1;             // keep-alive connections kept open (at least max_shards)
    // Ordered lanes to the backend, one request in flight each: a series always travels the lane
    // hash(series) % shards, so retries never reorder it. Between min and max the count follows
    // the backlog (export/shard_scaler.h); min == max fixes it.
    int min_shards = 1;
    int max_shards = 16;
    std::chrono::nanoseconds timeout = 30s;  // per step: connect, TLS handshake, write, read
    // 0 = retry until the data is delivered (back-pressure through the queue); else give up and
    // count the batch as dropped with reason retries_exhausted.
    std::chrono::nanoseconds max_retry_time = 0s;
    std::chrono::nanoseconds retry_backoff_base = 100ms;
    std::chrono::nanoseconds retry_backoff_max = 30s;
    std::string tls_ca_file;
    std::string tls_cert_file;
    std::string tls_key_file;
    bool tls_insecure_skip_verify = false;
    std::string bearer_token;
    std::string basic_auth_username;
    std::string basic_auth_password;
    std::string headers;               // "K1=V1,K2=V2"
    std::uint64_t batch_size = 10000;  // series (OTLP: data points) per upstream request
    std::chrono::nanoseconds flush_interval = 1s;  // longest wait for a batch to fill
    // How long a sender's forwarded request waits for others to join it in one upstream
    // request (at most flush_interval); 0: each goes as soon as its lane is free.
    std::chrono::nanoseconds forward_linger = 5ms;
    // OTLP exponential histograms become remote-write native histograms (prw only). Off by
    // default: a backend without native-histogram support refuses (Prometheus: 500, retried
    // forever) or drops them silently (VictoriaMetrics 1.79). docs/export.md.
    bool native_histograms = false;
    // OTLP names get unit and type suffixes (`_seconds`, `_total`, ...) as Prometheus' OTLP
    // translator gives them by default (prw only). Off: the names as sent, sanitized.
    bool otlp_name_suffixes = true;
    // The header (gRPC: metadata key) carrying each request's tenant to the backend; empty = the
    // same name as tenancy.header. Unused with tenancy.source none.
    std::string tenant_header;
};

// The export queue: accepted data waiting for (or in) an upstream request.
struct queue_config {
    std::uint64_t max_bytes = 268435456;  // 256MB; full => receivers answer 429
    // Disk queue directory: accepted data is also written here and survives a restart; empty =
    // memory only.
    std::string path;
    std::uint64_t max_disk_bytes = 1073741824;  // 1GiB of segment files; full => 429
};

// Cluster mode (docs/cluster.md): replicas share the admitted series of every enforcing tracker
// through Redis, so a limit is one limit over all of them. No address means cluster mode is off,
// and the other settings here are then only checked for their form (the password file is not
// read, relations and TLS files are not checked; a bad address is not "no address"). The password
// settings work like the listeners': password_file is read by parse_command_line into
// loaded_password (not a setting, so never printed), and the connection asks auth_password().
struct cluster_config {
    bool enabled() const { return !addresses.empty(); }
    const std::string& auth_password() const {
        return password.empty() ? loaded_password : password;
    }

    // host:port of the Redis server; for Redis Cluster, any of its nodes. Each checked with
    // parse_server_address (listen_address.h), no duplicates. Empty = cluster mode off.
    std::vector<std::string> addresses;
    // The addresses are seeds of a Redis Cluster (slots learned from them); false: one server.
    bool redis_cluster = false;
    std::string username;  // Redis 6 ACL user (AUTH user password); empty = AUTH password
    std::string password;  // empty with no password_file = no AUTH
    std::string password_file;
    int db = 0;                      // SELECT; Redis Cluster has only 0
    std::string key_prefix = "mg:";  // of every key; never empty, no '{' or '}' (the hash tag's)
    // Deadline of one admission round trip; at least 1ms (the cluster client counts in ms).
    std::chrono::nanoseconds timeout = 50ms;
    // What decides when Redis does not answer in time: local (this replica's own trackers and
    // limits, as in one process), open (admit) or closed (refuse new series; known ones pass).
    std::string failure_policy = "local";
    bool tls_enabled = false;   // TLS to Redis; the files below need it on
    std::string tls_ca_file;    // empty: the system's CAs
    std::string tls_cert_file;  // client certificate (chain); with the key file, or neither
    std::string tls_key_file;
    bool tls_insecure_skip_verify = false;
    // The name (or IP) Redis's certificate must carry, also sent as SNI; empty: the address
    // connected to (for Redis Cluster, each node's announced address).
    std::string tls_server_name;
    std::string loaded_password;  // the content of password_file
};

struct app_config {
    std::string config_file;  // -config; flag only
    int parallelism = 0;      // I/O threads; 0 = number of hardware threads
    std::chrono::nanoseconds shutdown_timeout = 30s;
    // Written with the daemon's PID once its listeners are bound, removed when it stops; empty =
    // none. For `kill -HUP "$(cat FILE)"` where pidof would signal every instance on the host.
    std::string pid_file;
    log_config log;
    http_config http;
    stats_config stats;
    ui_config ui;
    receiver_config receiver;
    grpc_config grpc;
    tenancy_config tenancy;
    cardinality_config cardinality;
    limits_config limits;
    overflow_config overflow;
    bloom_persistence_config bloom_persistence;
    exporter_config exporter;
    queue_config queue;
    cluster_config cluster;

    // parallelism, or the number of hardware threads when it is 0; always >= 1.
    unsigned effective_parallelism() const;
};

enum class command { run, validate, healthcheck, show_effective_config, version, help };

struct parse_outcome {
    command cmd = command::run;
    app_config config;
    // Every problem found, each naming the flag or YAML key and the accepted form.
    // Non-empty means the configuration must not be used: print them and exit with exit_code().
    // Besides per-setting problems, relations between settings are checked (e.g. the cardinality
    // window split into generations of at least 1s).
    std::vector<std::string> errors;
    // What to print on stdout for help, version and show-effective-config. Empty for validate:
    // the settings are only half of it; the binary then loads the files the daemon loads at
    // startup (cmd/metrics-governor/validate.h) and prints the result.
    std::string output;

    int exit_code() const { return errors.empty() ? 0 : 2; }
};

// Parses argv (argv[0] is the program name): the optional command word `validate` or
// `healthcheck`, flags in Go
// style (-name value, -name=value, --name value, --name=value; bare boolean flags), and the YAML
// file named by -config. Never throws for bad input; problems land in parse_outcome::errors.
// -help and -version win over everything else and report no errors.
parse_outcome parse_command_line(int argc, const char* const argv[]);

// The configuration as YAML, in the file's layout, with secret settings shown as "<redacted>"
// (as "" when unset; loading "<redacted>" back is an error naming the key).
// Loading the output back (with -config) gives the same configuration, secrets aside.
std::string to_yaml(const app_config& config);

// Usage text grouped by section, with every flag's type, YAML key, default and meaning.
std::string help_text();
// "metrics-governor VERSION" plus compiler and build type.
std::string version_text();

// One setting as documented: for -help, the docs and tests. Flag-only settings (-config) have an
// empty yaml_path.
struct setting_info {
    std::string flag;          // "-bloom-persistence-enabled"
    std::string yaml_path;     // "bloom_persistence.enabled"
    std::string type_name;     // bool, int, number, size, duration, string, address, addresses
    std::string default_text;  // "false", "30s", "500MB", ":9090"
    std::string help;
    std::string group;     // one of group_names(): General, Logging, ..., Export, Cluster
    std::string accepted;  // "an integer from 1 to 9"
    bool secret = false;
};

// The settings table, in help order.
const std::vector<setting_info>& all_settings();
// Flags that select a command rather than set a value: -help, -h, -version, -show-effective-config.
const std::vector<setting_info>& command_flags();
// Section titles in help order.
const std::vector<std::string>& group_names();

}  // namespace mg::config
