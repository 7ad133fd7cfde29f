// Every setting reaches the module that uses it (wiring.h). Each row gives one flag a distinctive
// value (not its default, not another row's) and checks where it must land in the module
// options. The rows are parsed together, as one command line, so a value mapped to the wrong
// field fails both that field's row and its own. A setting without a row fails the coverage
// test: wire it to its module (or say why main reads it itself), then add its row.
#include "wiring.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "shared/command_line.h"
#include "shared/temp_dir.h"

using namespace std::chrono_literals;
using mg::cmd::module_options;

namespace {

struct row {
    std::string flag;
    std::string value;
    std::function<void(const module_options&)> check;
};

// The persistence options, which exist only with -bloom-persistence-enabled.
const mg::persistence::persistence_options& persistence(const module_options& o) {
    REQUIRE(o.persistence.has_value());
    return *o.persistence;
}

// Both listeners take the HTTP limits.
template <typename Check>
void both_servers(const module_options& o, Check check) {
    check(o.ingest_server);
    check(o.stats_server);
}

const std::vector<row>& rows() {
    static const std::vector<row> table = {
        // General. The final save gets the daemon's one shutdown budget: -shutdown-timeout once
        // did not reach persistence, which then saved within its own default.
        {"-shutdown-timeout", "17s",
         [](const module_options& o) { CHECK(persistence(o).shutdown_timeout == 17s); }},
        // HTTP
        {"-http-read-timeout", "41s",
         [](const module_options& o) {
             both_servers(o, [](const auto& s) { CHECK(s.read_timeout == 41s); });
             CHECK(o.grpc.read_timeout == 41s);  // the gRPC handshake and message
         }},
        {"-http-idle-timeout", "43s",
         [](const module_options& o) {
             both_servers(o, [](const auto& s) { CHECK(s.idle_timeout == 43s); });
         }},
        {"-http-max-header-size", "20000",
         [](const module_options& o) {
             both_servers(o, [](const auto& s) { CHECK(s.max_header_size == 20000); });
         }},
        // Cluster
        {"-cluster-redis-addr", "redis.example:6390",
         [](const module_options& o) {
             REQUIRE(o.cluster);
             CHECK(o.cluster->client.addresses == std::vector<std::string>{"redis.example:6390"});
         }},
        {"-cluster-username", "wiring-redis-user",
         [](const module_options& o) {
             CHECK(o.cluster->client.connection.username == "wiring-redis-user");
         }},
        {"-cluster-password", "wiring-redis-password",
         [](const module_options& o) {
             CHECK(o.cluster->client.connection.password == "wiring-redis-password");
         }},
        {"-cluster-db", "7",
         [](const module_options& o) { CHECK(o.cluster->client.connection.db == 7); }},
        {"-cluster-key-prefix", "wiring:",
         [](const module_options& o) { CHECK(o.cluster->admission.key_prefix == "wiring:"); }},
        {"-cluster-timeout", "77ms",
         [](const module_options& o) { CHECK(o.cluster->admission.timeout == 77ms); }},
        {"-cluster-failure-policy", "closed",
         [](const module_options& o) {
             CHECK(o.cluster->policy == mg::limits::cluster_failure_policy::closed);
         }},
        // Receiver
        {"-receiver-max-request-body-size", "3145728",
         [](const module_options& o) {
             CHECK(o.receiver.max_body_size == 3145728);
             CHECK(o.ingest_server.max_body_size == 3145728);
             CHECK(o.grpc.max_message_size == 3145728);         // gRPC's max message size
             CHECK(o.stats_server.max_body_size == 64 * 1024);  // the stats API takes no bodies
         }},
        // OTLP/gRPC
        {"-grpc-listen", "127.0.0.9:4999",
         [](const module_options& o) { CHECK(o.grpc.listen == "127.0.0.9:4999"); }},
        {"-grpc-max-concurrent-streams", "77",
         [](const module_options& o) { CHECK(o.grpc.max_concurrent_streams == 77); }},
        {"-grpc-keepalive-time", "47m",
         [](const module_options& o) { CHECK(o.grpc.keepalive_time == 47min); }},
        {"-grpc-keepalive-timeout", "19s",
         [](const module_options& o) { CHECK(o.grpc.keepalive_timeout == 19s); }},
        {"-grpc-max-connection-idle", "53s",
         [](const module_options& o) { CHECK(o.grpc.max_connection_idle == 53s); }},
        {"-receiver-max-connections", "777",
         [](const module_options& o) {
             CHECK(o.ingest_server.max_connections == 777);
             CHECK(o.stats_server.max_connections == 0);
         }},
        {"-receiver-max-inflight-bytes", "5000000",
         [](const module_options& o) { CHECK(o.max_inflight_bytes == 5000000); }},
        {"-max-labels-per-series", "41",
         [](const module_options& o) { CHECK(o.receiver.max_labels_per_series == 41); }},
        {"-max-label-name-len", "257",
         [](const module_options& o) { CHECK(o.receiver.max_label_name_len == 257); }},
        {"-max-label-value-len", "4097",
         [](const module_options& o) { CHECK(o.receiver.max_label_value_len == 4097); }},
        // Tenancy
        {"-tenancy-source", "label",
         [](const module_options& o) {
             CHECK(o.receiver.tenancy.source == mg::ingest::tenant_source::label);
         }},
        {"-tenancy-header", "X-Wiring-Tenant",
         [](const module_options& o) { CHECK(o.receiver.tenancy.header == "X-Wiring-Tenant"); }},
        {"-tenancy-label", "wiring_tenant",
         [](const module_options& o) { CHECK(o.receiver.tenancy.label == "wiring_tenant"); }},
        {"-tenancy-default-tenant", "wiring-default",
         [](const module_options& o) {
             CHECK(o.receiver.tenancy.default_tenant == "wiring-default");
             CHECK(o.governor.default_tenant_name == "wiring-default");
         }},
        {"-tenancy-require-tenant", "true",
         [](const module_options& o) { CHECK(o.receiver.tenancy.require_tenant); }},
        {"-tenancy-max-tenant-length", "129",
         [](const module_options& o) { CHECK(o.receiver.tenancy.max_tenant_length == 129); }},
        // Stats
        {"-stats-top-n", "7", [](const module_options& o) { CHECK(o.cardinality_top_n == 7); }},
        {"-ui-show-dropped-samples", "true",
         [](const module_options& o) { CHECK(o.show_dropped_samples); }},
        {"-ui-history-interval", "1m30s",
         [](const module_options& o) { CHECK(o.history.interval == std::chrono::seconds(90)); }},
        // Cardinality
        {"-cardinality-expected-items", "123456",
         [](const module_options& o) { CHECK(o.governor.tracker.expected_items == 123456); }},
        {"-cardinality-fp-rate", "0.02",
         [](const module_options& o) { CHECK(o.governor.tracker.fp_rate == 0.02); }},
        {"-cardinality-generations", "4",
         [](const module_options& o) { CHECK(o.governor.tracker.generations == 4); }},
        {"-cardinality-window", "2h",
         [](const module_options& o) {
             CHECK(o.governor.tracker.window == 2h);
             CHECK(o.cluster->admission.window == 2h);  // the shared limits cover the same window
         }},
        // Limits
        {"-limits-dry-run", "true", [](const module_options& o) { CHECK(o.governor.dry_run); }},
        {"-limits-max-series", "999",
         [](const module_options& o) { CHECK(o.governor.max_series == 999); }},
        {"-limits-max-tenants-in-metrics", "7",
         [](const module_options& o) { CHECK(o.governor.max_tenants_in_metrics == 7); }},
        {"-overflow-interval", "23s",
         [](const module_options& o) { CHECK(o.overflow.default_interval == 23s); }},
        // Bloom persistence
        {"-bloom-persistence-enabled", "true",
         [](const module_options& o) { CHECK(o.persistence.has_value()); }},
        {"-bloom-persistence-path", "/var/lib/mg-wiring-state",
         [](const module_options& o) { CHECK(persistence(o).path == "/var/lib/mg-wiring-state"); }},
        {"-bloom-persistence-save-interval", "31s",
         [](const module_options& o) { CHECK(persistence(o).save_interval == 31s); }},
        {"-bloom-persistence-state-ttl", "3h",
         [](const module_options& o) { CHECK(persistence(o).state_ttl == 3h); }},
        {"-bloom-persistence-cleanup-interval", "7m",
         [](const module_options& o) { CHECK(persistence(o).cleanup_interval == 7min); }},
        {"-bloom-persistence-max-size", "600000000",
         [](const module_options& o) { CHECK(persistence(o).max_size == 600000000); }},
        {"-bloom-persistence-max-memory", "300000000",
         [](const module_options& o) { CHECK(persistence(o).max_memory == 300000000); }},
        {"-bloom-persistence-compression", "false",
         [](const module_options& o) { CHECK_FALSE(persistence(o).compression); }},
        {"-bloom-persistence-compression-level", "6",
         [](const module_options& o) { CHECK(persistence(o).compression_level == 6); }},
        {"-bloom-persistence-incremental", "false",
         [](const module_options& o) { CHECK_FALSE(persistence(o).incremental); }},
        {"-bloom-persistence-chunk-size", "4096",
         [](const module_options& o) { CHECK(persistence(o).chunk_size == 4096); }},
        {"-bloom-persistence-snapshot-ratio", "0.25",
         [](const module_options& o) { CHECK(persistence(o).snapshot_ratio == 0.25); }},
        // Exporter and queue
        {"-exporter-endpoint", "http://backend.example:9999/write",
         [](const module_options& o) {
             CHECK(o.exporter.endpoint == "http://backend.example:9999/write");
         }},
        {"-exporter-protocol", "otlp",
         [](const module_options& o) { CHECK(o.exporter.protocol == "otlp"); }},
        {"-exporter-max-conns", "3",
         [](const module_options& o) { CHECK(o.exporter.max_conns == 3); }},
        {"-exporter-min-shards", "2",
         [](const module_options& o) { CHECK(o.exporter.min_shards == 2); }},
        {"-exporter-max-shards", "5",
         [](const module_options& o) { CHECK(o.exporter.max_shards == 5); }},
        {"-exporter-timeout", "11s",
         [](const module_options& o) { CHECK(o.exporter.timeout == 11s); }},
        {"-exporter-max-retry-time", "13m",
         [](const module_options& o) { CHECK(o.exporter.max_retry_time == 13min); }},
        {"-exporter-retry-backoff-base", "150ms",
         [](const module_options& o) { CHECK(o.exporter.retry_backoff_base == 150ms); }},
        {"-exporter-retry-backoff-max", "45s",
         [](const module_options& o) { CHECK(o.exporter.retry_backoff_max == 45s); }},
        {"-exporter-tls-ca-file", "/etc/mg-wiring/ca.pem",
         [](const module_options& o) { CHECK(o.exporter.tls_ca_file == "/etc/mg-wiring/ca.pem"); }},
        {"-exporter-tls-cert-file", "/etc/mg-wiring/cert.pem",
         [](const module_options& o) {
             CHECK(o.exporter.tls_cert_file == "/etc/mg-wiring/cert.pem");
         }},
        {"-exporter-tls-key-file", "/etc/mg-wiring/key.pem",
         [](const module_options& o) {
             CHECK(o.exporter.tls_key_file == "/etc/mg-wiring/key.pem");
         }},
        {"-exporter-tls-insecure-skip-verify", "true",
         [](const module_options& o) { CHECK(o.exporter.tls_insecure_skip_verify); }},
        {"-exporter-bearer-token", "wiring-token",
         [](const module_options& o) { CHECK(o.exporter.bearer_token == "wiring-token"); }},
        {"-exporter-headers", "X-Wiring=1",
         [](const module_options& o) { CHECK(o.exporter.headers == "X-Wiring=1"); }},
        {"-exporter-native-histograms", "true",
         [](const module_options& o) { CHECK(o.exporter.native_histograms); }},
        {"-exporter-otlp-name-suffixes", "false",
         [](const module_options& o) { CHECK_FALSE(o.exporter.otlp_name_suffixes); }},
        {"-exporter-tenant-header", "X-Wiring-Upstream",
         [](const module_options& o) { CHECK(o.exporter.tenant_header == "X-Wiring-Upstream"); }},
        {"-batch-size", "2345",
         [](const module_options& o) { CHECK(o.exporter.batch_size == 2345); }},
        {"-flush-interval", "3s",
         [](const module_options& o) { CHECK(o.exporter.flush_interval == 3s); }},
        {"-exporter-forward-linger", "7ms",
         [](const module_options& o) { CHECK(o.exporter.forward_linger == 7ms); }},
        {"-queue-max-bytes", "200000000",
         [](const module_options& o) { CHECK(o.exporter.queue.max_bytes == 200000000); }},
        {"-queue-path", "/var/lib/mg-wiring-queue",
         [](const module_options& o) {
             CHECK(o.exporter.queue.path == "/var/lib/mg-wiring-queue");
         }},
        {"-queue-max-disk-bytes", "2000000000",
         [](const module_options& o) { CHECK(o.exporter.queue.max_disk_bytes == 2000000000); }},
    };
    return table;
}

// Settings that cannot share a command line with rows() (the exporter takes one kind of
// Authorization): checked on a second one.
const std::vector<row>& alternative_rows() {
    static const std::vector<row> table = {
        {"-exporter-basic-auth-username", "wiring-user",
         [](const module_options& o) { CHECK(o.exporter.basic_auth_username == "wiring-user"); }},
        {"-exporter-basic-auth-password", "wiring-password",
         [](const module_options& o) {
             CHECK(o.exporter.basic_auth_password == "wiring-password");
         }},
    };
    return table;
}

// Settings that are no module's, read by main (or by what validate shares with it): see wiring.h.
std::set<std::string> read_by_main() {
    std::set<std::string> flags = {
        "-config",      "-parallelism", "-pid-file",   "-log-level",     "-log-format",
        "-http-listen", "-prw-listen",  "-stats-addr", "-limits-config", "-stats-protect-metrics",
    };
    // The listeners' access control: listener_access.h.
    for (const std::string listener : {"-receiver-", "-stats-"}) {
        for (const char* setting :
             {"bearer-token", "bearer-token-file", "basic-auth-username", "basic-auth-password",
              "basic-auth-password-file", "tls-cert-file", "tls-key-file", "tls-client-ca-file"}) {
            flags.insert(listener + setting);
        }
    }
    return flags;
}

// Settings parsed and checked (config/cluster_settings.cpp) that no module uses yet: cluster mode
// (issue 17) is being wired into the governor. Move each to rows() as it is wired.
std::set<std::string> not_wired_yet() {
    // Read at parse time into the password the client gets (auth_password(); the config tests
    // cover the file), so wired as -cluster-password is.
    return {"-cluster-password-file"};
}

// Cluster settings that need files or exclude rows() settings (-cluster-db with Redis Cluster):
// checked by their own test case below.
std::set<std::string> wired_cluster_client() {
    return {"-cluster-redis-cluster",  "-cluster-tls-enabled",  "-cluster-tls-ca-file",
            "-cluster-tls-cert-file",  "-cluster-tls-key-file", "-cluster-tls-insecure-skip-verify",
            "-cluster-tls-server-name"};
}

// The module options of one command line made of `table`'s rows, checked row by row.
void check_rows(const std::vector<row>& table) {
    std::vector<std::string> args;
    for (const auto& r : table) args.push_back(r.flag + "=" + r.value);
    const auto parsed = mg::test::parse_args(std::move(args));
    INFO(mg::test::all_errors(parsed));
    REQUIRE(parsed.errors.empty());
    const auto options = mg::cmd::module_options_from(parsed.config);
    for (const auto& r : table) {
        INFO(r.flag << "=" << r.value);
        r.check(options);
    }
}

}  // namespace

TEST_CASE("wiring: every setting reaches its module's options", "[cmd][wiring]") {
    check_rows(rows());
    check_rows(alternative_rows());
}

TEST_CASE("wiring: every setting of the configuration is wired or read by main", "[cmd][wiring]") {
    std::set<std::string> known = read_by_main();
    for (const auto& flag : not_wired_yet()) CHECK(known.insert(flag).second);
    for (const auto& flag : wired_cluster_client()) CHECK(known.insert(flag).second);
    for (const auto* table : {&rows(), &alternative_rows()}) {
        for (const auto& r : *table) {
            INFO(r.flag);
            CHECK(known.insert(r.flag).second);  // one row per flag
        }
    }
    std::set<std::string> settings;
    for (const auto& s : mg::config::all_settings()) {
        settings.insert(s.flag);
        INFO(s.flag << " is not wired: map it in wiring.cpp and add its row");
        CHECK(known.count(s.flag) == 1);
    }
    for (const auto& flag : known) {
        INFO(flag << " is not a setting any more");
        CHECK(settings.count(flag) == 1);
    }
}

TEST_CASE("wiring: the defaults", "[cmd][wiring]") {
    const auto options = mg::cmd::module_options_from(mg::config::app_config{});
    // The export module's defaults are the daemon's, so tests that build an exporter from
    // exporter_options{} run it as the daemon would.
    CHECK(options.exporter == mg::exporter::exporter_options{});
    CHECK_FALSE(options.persistence.has_value());  // -bloom-persistence-enabled is off
    CHECK(options.ingest_server.name == "ingest");
    CHECK(options.stats_server.name == "stats");
    CHECK_FALSE(options.show_dropped_samples);  // off by default: privacy
    CHECK(options.history.interval == std::chrono::seconds(15));
}

TEST_CASE("wiring: the exporter's tenant header is tenancy.header's unless set, none when off",
          "[cmd][wiring]") {
    const auto with = [](std::vector<std::string> args) {
        const auto parsed = mg::test::parse_args(std::move(args));
        INFO(mg::test::all_errors(parsed));
        REQUIRE(parsed.errors.empty());
        return mg::cmd::module_options_from(parsed.config).exporter.tenant_header;
    };
    CHECK(with({"-tenancy-source=header", "-tenancy-header=X-Team"}) == "X-Team");
    CHECK(with({"-tenancy-source=fixed"}) == "X-Scope-OrgID");
    CHECK(with({"-tenancy-source=fixed", "-exporter-tenant-header=X-Up"}) == "X-Up");
    // Tenancy off: no tenant header, whatever tenancy.header says.
    CHECK(with({"-tenancy-header=X-Team"}).empty());
    CHECK(with({}).empty());
}

TEST_CASE("wiring: the Redis client's mode and TLS reach cluster mode's client", "[cmd][wiring]") {
    mg::test::temp_dir dir;
    const auto ca = dir.write("ca.pem", "ca");
    const auto cert = dir.write("cert.pem", "cert");
    const auto key = dir.write("key.pem", "key");
    const auto parsed = mg::test::parse_args(
        {"-cluster-redis-addr=a:7000,b:7001", "-cluster-redis-cluster", "-cluster-tls-enabled",
         "-cluster-tls-ca-file=" + ca, "-cluster-tls-cert-file=" + cert,
         "-cluster-tls-key-file=" + key, "-cluster-tls-insecure-skip-verify",
         "-cluster-tls-server-name=redis.internal"});
    INFO(mg::test::all_errors(parsed));
    REQUIRE(parsed.errors.empty());
    const auto o = mg::cmd::module_options_from(parsed.config);
    REQUIRE(o.cluster);
    CHECK(o.cluster->client.cluster);
    CHECK(o.cluster->client.addresses == std::vector<std::string>{"a:7000", "b:7001"});
    const auto& tls = o.cluster->client.connection.tls;
    CHECK(tls.enabled);
    CHECK(tls.ca_file == ca);
    CHECK(tls.cert_file == cert);
    CHECK(tls.key_file == key);
    CHECK(tls.insecure_skip_verify);
    CHECK(tls.server_name == "redis.internal");
    // Without the flags: one server, no TLS.
    const auto plain = mg::cmd::module_options_from([] {
        mg::config::app_config c;
        c.cluster.addresses = {"a:7000"};
        return c;
    }());
    REQUIRE(plain.cluster);
    CHECK_FALSE(plain.cluster->client.cluster);
    CHECK_FALSE(plain.cluster->client.connection.tls.enabled);
}
