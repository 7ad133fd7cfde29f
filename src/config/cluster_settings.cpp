// The cluster section of the settings table (cluster mode, docs/cluster.md: limits shared by the
// replicas through Redis) and the checks between its settings. Its own file because the section
// is large and self-contained: the rows are added to the table by build_rows (settings.cpp) after
// the exporter's, and check_cluster runs with the other checks between settings (config.cpp).
//
// With no address cluster mode is off: every value is still checked for its form (by its row,
// and the key prefix and timeout here), but nothing else is, since nothing uses them: the
// password file is not read, the TLS files are not opened, relations are not checked. A
// configuration that prepares cluster mode (a mounted secret, say) then starts without it. A bad
// address is not "no address": everything is checked then.
//
// Functions on the calling thread, run once at startup; check_cluster reads the password file.
#include <limits>
#include <utility>

#include "common/units.h"
#include "config/settings.h"

namespace mg::config::detail {

void add_cluster_rows(std::vector<setting>& rows) {
    using cc = cluster_config;
    const auto cl = group::cluster;
    // The flag's name was settled by the issue that asked for cluster mode, before the YAML key.
    rows.push_back(make_setting<&app_config::cluster, &cc::addresses>(
                       "cluster.addresses", cl,
                       "Redis of cluster mode, host:port: a Redis server, or nodes of one Redis "
                       "Cluster (comma-separated; in YAML a list). Empty means cluster mode off: "
                       "every replica counts on its own.")
                       .allow_empty()
                       .flag("-cluster-redis-addr"));
    rows.push_back(make_setting<&app_config::cluster, &cc::redis_cluster>(
        "cluster.redis_cluster", cl,
        "The addresses are nodes of a Redis Cluster (its slots are learned from them and each "
        "limit's keys go to the node serving them); off means one Redis server."));
    rows.push_back(make_setting<&app_config::cluster, &cc::username>(
                       "cluster.username", cl,
                       "Redis ACL user (AUTH user password, Redis 6 and later); empty means AUTH "
                       "with the password alone.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::cluster, &cc::password>(
                       "cluster.password", cl,
                       "Redis password (AUTH); empty means none unless cluster.password_file.")
                       .allow_empty()
                       .secret());
    rows.push_back(make_setting<&app_config::cluster, &cc::password_file>(
                       "cluster.password_file", cl,
                       "File holding the Redis password (trailing newline ignored), instead of "
                       "cluster.password.")
                       .allow_empty());
    rows.push_back(
        make_setting<&app_config::cluster, &cc::db>(
            "cluster.db", cl, "Redis database number (SELECT); Redis Cluster has only database 0.")
            .int_range(0, std::numeric_limits<int>::max()));
    rows.push_back(make_setting<&app_config::cluster, &cc::key_prefix>(
        "cluster.key_prefix", cl,
        "Prefix of every Redis key the replicas write, so several deployments can share one "
        "Redis; no '{' or '}' (Redis Cluster's hash tags)."));
    rows.push_back(make_setting<&app_config::cluster, &cc::timeout>(
                       "cluster.timeout", cl,
                       "Longest wait for Redis's answer about a request's new series, at least "
                       "1ms; then the failure policy decides.")
                       .positive());
    rows.push_back(make_setting<&app_config::cluster, &cc::failure_policy>(
                       "cluster.failure_policy", cl,
                       "When Redis does not answer in time: local (this replica's own trackers "
                       "and limits decide), open (admit) or closed (drop new series; known series "
                       "still pass).")
                       .one_of({"local", "open", "closed"}));
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_enabled>(
        "cluster.tls.enabled", cl,
        "Speak TLS to Redis; the other cluster.tls settings need it on."));
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_ca_file>(
                       "cluster.tls.ca_file", cl,
                       "PEM CA bundle that verifies Redis; empty means the system CAs.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_cert_file>(
                       "cluster.tls.cert_file", cl,
                       "PEM client certificate (chain) for mutual TLS; needs the key file.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_key_file>(
                       "cluster.tls.key_file", cl, "PEM private key of the client certificate.")
                       .allow_empty());
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_insecure_skip_verify>(
        "cluster.tls.insecure_skip_verify", cl,
        "Do not verify Redis's certificate or name (testing only)."));
    rows.push_back(make_setting<&app_config::cluster, &cc::tls_server_name>(
                       "cluster.tls.server_name", cl,
                       "The name (or IP address) Redis's certificate must carry, also sent as SNI; "
                       "empty means the address connected to (each node's own in a Redis "
                       "Cluster).")
                       .allow_empty());
}

void check_cluster(cluster_config& c, std::vector<std::string>& errors) {
    // Forms the rows cannot express.
    if (!reported(errors, "cluster.key_prefix") &&
        c.key_prefix.find_first_of("{}") != std::string::npos) {
        // A brace would move the hash tag that keeps a tracker's keys on one Redis Cluster node.
        errors.push_back(key_and_flag("cluster.key_prefix") + ": \"" + c.key_prefix +
                         "\" has '{' or '}'; want a prefix without braces, e.g. mg:");
    }
    if (!reported(errors, "cluster.timeout") && c.timeout < std::chrono::milliseconds(1)) {
        // The cluster client counts its deadlines in whole milliseconds.
        errors.push_back(key_and_flag("cluster.timeout") + ": " + format_duration(c.timeout) +
                         " is out of range; want a duration of at least 1ms, e.g. 50ms");
    }
    // A bad address leaves the list empty; the operator still meant cluster mode, so the rest is
    // checked too and every problem shows at once.
    if (!c.enabled() && !reported(errors, "cluster.addresses")) return;

    // One server is one address; a Redis Cluster has one database.
    if (!c.redis_cluster && c.addresses.size() > 1) {
        errors.push_back(key_and_flag("cluster.addresses") + ": " +
                         std::to_string(c.addresses.size()) +
                         " addresses for one Redis server; want one host:port, or set "
                         "cluster.redis_cluster (-cluster-redis-cluster) for the nodes of a "
                         "Redis Cluster");
    }
    if (c.redis_cluster && c.db != 0) {
        errors.push_back(key_and_flag("cluster.db") + ": " + std::to_string(c.db) +
                         " with cluster.redis_cluster; Redis Cluster has only database 0");
    }

    const auto before = errors.size();
    if (!c.password.empty() && !c.password_file.empty()) {
        errors.push_back(key_and_flag("cluster.password") + " / " +
                         key_and_flag("cluster.password_file") + ": set one of them, not both");
    } else if (!c.password_file.empty()) {
        read_secret_file("cluster.password_file", c.password_file, c.loaded_password, errors);
    }
    // After a problem with the password the user name's check would only repeat it.
    if (errors.size() == before && !c.username.empty() && c.auth_password().empty()) {
        errors.push_back(key_and_flag("cluster.username") +
                         ": AUTH with a user name needs a password; set cluster.password or "
                         "cluster.password_file");
    }

    if (!c.tls_enabled) {
        // TLS settings with TLS off: the operator meant an encrypted connection, and would get
        // a plain one.
        const std::pair<const char*, bool> tls_settings[] = {
            {"cluster.tls.ca_file", !c.tls_ca_file.empty()},
            {"cluster.tls.cert_file", !c.tls_cert_file.empty()},
            {"cluster.tls.key_file", !c.tls_key_file.empty()},
            {"cluster.tls.insecure_skip_verify", c.tls_insecure_skip_verify},
            {"cluster.tls.server_name", !c.tls_server_name.empty()},
        };
        for (const auto& [key, set] : tls_settings) {
            if (set) {
                errors.push_back(key_and_flag(key) +
                                 ": set while TLS to Redis is off; set cluster.tls.enabled "
                                 "(-cluster-tls-enabled) to true, or leave it out");
            }
        }
        return;
    }
    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
        errors.push_back(key_and_flag("cluster.tls.cert_file") + " / " +
                         key_and_flag("cluster.tls.key_file") +
                         ": a client certificate needs both files");
    }
    check_readable("cluster.tls.ca_file", c.tls_ca_file, errors);
    check_readable("cluster.tls.cert_file", c.tls_cert_file, errors);
    check_readable("cluster.tls.key_file", c.tls_key_file, errors);
}

}  // namespace mg::config::detail
