// The helpers of the checks between settings, shared by config.cpp (the listeners' access, the
// exporter) and cluster_settings.cpp: messages that name a key with its flag, and the secret and
// TLS files read or opened at parse time. Pure functions but for reading those files; run once at
// startup on the calling thread.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/tenant_name.h"
#include "config/settings.h"

namespace mg::config::detail {

bool reported(const std::vector<std::string>& errors, std::string_view yaml_path) {
    const setting* s = find_by_yaml_path(yaml_path);
    for (const auto& e : errors) {
        if (e.rfind(std::string(yaml_path) + ":", 0) == 0) return true;
        if (s != nullptr && e.rfind(s->info.flag + ":", 0) == 0) return true;
    }
    return false;
}

std::string key_and_flag(const std::string& yaml_path) {
    const setting* s = find_by_yaml_path(yaml_path);
    return s == nullptr ? yaml_path : yaml_path + " (" + s->info.flag + ")";
}

void read_secret_file(const std::string& key, const std::string& path, std::string& into,
                      std::vector<std::string>& errors) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back(key_and_flag(key) + ": cannot read \"" + path +
                         "\": " + std::strerror(errno));
        return;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) {
        errors.push_back(key_and_flag(key) + ": \"" + path +
                         "\" is empty; want a file holding the secret");
        return;
    }
    into = std::move(text);
}

void check_readable(const std::string& key, const std::string& path,
                    std::vector<std::string>& errors) {
    if (path.empty()) return;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        errors.push_back(key_and_flag(key) + ": cannot read \"" + path +
                         "\": " + std::strerror(errno));
}

}  // namespace mg::config::detail

namespace mg::config::detail {

// The tenancy section as a whole, and exporter.tenant_header: what single rows cannot check.
// The default tenant follows the receivers' own rule (common/tenant_name.h), so the tenant a
// request gets by default is one the receivers would have accepted from it.
void check_tenancy(const app_config& config, std::vector<std::string>& errors) {
    const auto& t = config.tenancy;
    if (!reported(errors, "tenancy.header")) {
        if (auto why = tenant_header_problem(t.header); !why.empty()) {
            errors.push_back(key_and_flag("tenancy.header") + ": " + why +
                             "; want a header name such as X-Scope-OrgID");
        }
    }
    if (t.source == "label" && t.label.empty() && !reported(errors, "tenancy.label")) {
        errors.push_back(key_and_flag("tenancy.label") +
                         ": tenancy.source label needs the name of the label that carries the "
                         "tenant; want a label name such as tenant");
    }
    if (!reported(errors, "tenancy.default_tenant") &&
        !reported(errors, "tenancy.max_tenant_length")) {
        const auto max = static_cast<std::size_t>(t.max_tenant_length);
        if (auto why = tenant_problem(t.default_tenant, max); !why.empty()) {
            errors.push_back(key_and_flag("tenancy.default_tenant") + ": " + why + "; want 1 to " +
                             std::to_string(max) +
                             " bytes of UTF-8 without control characters or '/', not \".\" or "
                             "\"..\"");
        }
    }
    const auto& h = config.exporter.tenant_header;
    if (!h.empty() && !reported(errors, "exporter.tenant_header")) {
        if (auto why = tenant_header_problem(h); !why.empty()) {
            errors.push_back(key_and_flag("exporter.tenant_header") + ": " + why +
                             "; want a header name such as X-Scope-OrgID, or empty for "
                             "tenancy.header's");
        } else if (t.source == "none" && !reported(errors, "tenancy.source")) {
            errors.push_back(key_and_flag("exporter.tenant_header") +
                             ": set, but tenancy.source is none (no tenant to forward); want "
                             "tenancy.source header, label or fixed, or an empty "
                             "exporter.tenant_header");
        }
    }
}

}  // namespace mg::config::detail
