#include "validate.h"

#include <iostream>
#include <utility>

#include "cluster/redis_tls.h"
#include "export/exporter.h"
#include "limits/limits_file.h"
#include "listener_access.h"
#include "wiring.h"

namespace mg::cmd {

namespace {

std::string plural(std::size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The listener's files and secrets that were loaded (by parse_command_line or here), for the OK
// line: "receiver TLS files and bearer token file".
std::string listener_files(const mg::config::listener_access_config& a, const std::string& prefix) {
    std::vector<std::string> parts;
    if (!a.tls_cert_file.empty())
        parts.emplace_back(a.tls_client_ca_file.empty() ? "TLS files" : "TLS files with client CA");
    if (!a.bearer_token_file.empty()) parts.emplace_back("bearer token file");
    if (!a.basic_auth_password_file.empty()) parts.emplace_back("basic auth password file");
    if (parts.empty()) return {};
    std::string out = prefix;
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? " " : " and ") + parts[i];
    return out;
}

}  // namespace

startup_check check_startup_files(const mg::config::app_config& cfg) {
    startup_check out;
    // The texts below are run_daemon's (main.cpp); tests/integration/daemon_test.cpp compares the
    // two for the same bad files.
    if (cfg.limits.config.empty()) {
        out.checked.emplace_back("no limits file");
    } else if (auto file = mg::limits::load_limits_file(cfg.limits.config); !file.ok()) {
        out.errors.push_back("metrics-governor: invalid limits file (-limits-config):\n" +
                             file.error_message());
    } else {
        out.checked.push_back(
            "limits file " + cfg.limits.config + " (" + plural(file->rules.size(), "rule") +
            (file->has_defaults ? " and defaults" : "") +
            (file->tenants.empty() ? std::string()
                                   : ", " + plural(file->tenants.size(), "tenant")) +
            (file->has_tenant_defaults ? ", tenant_defaults" : "") + ")");
    }
    for (const auto& [access, prefix] :
         {std::pair{&cfg.receiver.access, "receiver"}, std::pair{&cfg.stats.access, "stats"}}) {
        if (auto checked = make_listener_access(*access, prefix, {}); !checked.ok()) {
            out.errors.push_back("metrics-governor: invalid configuration: " +
                                 checked.error_message());
        } else if (auto files = listener_files(*access, prefix); !files.empty()) {
            out.checked.push_back(std::move(files));
        }
    }
    if (auto st = mg::exporter::exporter::check_settings(exporter_options_from(cfg)); !st) {
        out.errors.push_back("metrics-governor: invalid exporter configuration: " +
                             st.error_message());
    } else if (cfg.exporter.endpoint.rfind("https://", 0) == 0 &&
               (!cfg.exporter.tls_ca_file.empty() || !cfg.exporter.tls_cert_file.empty())) {
        out.checked.emplace_back("exporter TLS files");
    }
    // Cluster mode's TLS files, loaded as the Redis client loads them (make_cluster_admission
    // fails with the same message, under the same prefix).
    if (const auto cluster = cluster_options_from(cfg);
        cluster && cluster->client.connection.tls.enabled) {
        if (auto ctx = mg::cluster::make_redis_tls_context(cluster->client.connection.tls); !ctx) {
            out.errors.push_back("metrics-governor: invalid cluster configuration: " +
                                 ctx.error_message());
        } else {
            out.checked.emplace_back("cluster TLS files");
        }
    }
    return out;
}

std::string validate_ok_text(const mg::config::app_config& cfg, const startup_check& check) {
    std::string text =
        "configuration OK (" + (cfg.config_file.empty() ? std::string("defaults and flags")
                                                        : "file " + cfg.config_file + " and flags");
    for (const auto& item : check.checked) text += "; " + item;
    return text + ")\n";
}

int run_validate(const mg::config::app_config& cfg) {
    const auto check = check_startup_files(cfg);
    if (!check.errors.empty()) {
        for (const auto& e : check.errors) std::cerr << e << "\n";
        return 2;
    }
    std::cout << validate_ok_text(cfg, check);
    return 0;
}

}  // namespace mg::cmd
