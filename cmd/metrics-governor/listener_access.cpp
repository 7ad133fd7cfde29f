#include "listener_access.h"

#include "http/tls.h"
#include "ui/ui_routes.h"

namespace mg::cmd {

mg::result<listener_access> make_listener_access(const mg::config::listener_access_config& a,
                                                 const std::string& prefix,
                                                 std::vector<std::string> open_paths) {
    listener_access out;
    const mg::http::credentials creds{a.token(), a.basic_auth_username, a.password()};
    if (!creds.bearer_token.empty() || !creds.basic_username.empty()) {
        out.auth = std::make_shared<mg::http::authenticator>(creds, std::move(open_paths));
    }
    if (!a.tls_cert_file.empty()) {
        auto name = [&prefix](const std::string& key) {
            std::string flag = "-" + prefix + "-" + key;
            for (auto& c : flag) c = (c == '.' || c == '_') ? '-' : c;
            return prefix + "." + key + " (" + flag + ")";
        };
        auto ctx =
            mg::http::make_server_tls_context({.cert_file = a.tls_cert_file,
                                               .key_file = a.tls_key_file,
                                               .client_ca_file = a.tls_client_ca_file,
                                               .cert_name = name("tls.cert_file"),
                                               .key_name = name("tls.key_file"),
                                               .client_ca_name = name("tls.client_ca_file")});
        if (!ctx.ok()) return mg::make_error(ctx.error_message());
        out.tls = std::move(*ctx);
    }
    return out;
}

std::vector<std::string> stats_open_paths(const mg::config::stats_config& s) {
    std::vector<std::string> open{"/live", "/ready"};
    if (!s.protect_metrics) {
        open.emplace_back("/metrics");
        // The /ui page itself holds no data (it draws the protected cardinality APIs and asks for
        // the token when they answer 401), so it is as open as /metrics.
        for (auto& p : mg::ui::ui_paths()) open.push_back(std::move(p));
    }
    return open;
}

}  // namespace mg::cmd
