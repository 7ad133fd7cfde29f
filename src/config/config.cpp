#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "common/redact.h"
#include "common/units.h"
#include "config/settings.h"
#include "config/yaml_node.h"

#ifndef MG_VERSION
#define MG_VERSION "0.0.0-dev"
#endif
#ifndef MG_BUILD_TYPE
#define MG_BUILD_TYPE "unknown"
#endif

namespace mg::config {

using detail::setting;
using detail::settings_table;
using detail::value_kind;

unsigned app_config::effective_parallelism() const {
    if (parallelism > 0) return static_cast<unsigned>(parallelism);
    return std::max(1U, std::thread::hardware_concurrency());
}

const std::vector<setting_info>& command_flags() {
    static const std::vector<setting_info> flags = [] {
        auto make = [](std::string flag, std::string help) {
            setting_info info;
            info.flag = std::move(flag);
            info.type_name = "bool";
            info.default_text = "false";
            info.help = std::move(help);
            info.group = "General";
            info.accepted = "no value";
            return info;
        };
        return std::vector<setting_info>{
            make("-help", "Print this help and exit."),
            make("-h", "Same as -help."),
            make("-version", "Print the version and build information and exit."),
            make("-show-effective-config",
                 "Print the merged configuration (defaults, file, flags) as YAML and exit."),
        };
    }();
    return flags;
}

namespace {

// ---- YAML overlay ------------------------------------------------------------------------------

// Every proper prefix of a YAML path in the table is a section that must be a map.
const std::set<std::string, std::less<>>& yaml_sections() {
    static const std::set<std::string, std::less<>> sections = [] {
        std::set<std::string, std::less<>> out;
        for (const auto& s : settings_table()) {
            const auto& path = s.info.yaml_path;
            for (auto dot = path.find('.'); dot != std::string::npos;
                 dot = path.find('.', dot + 1)) {
                out.insert(path.substr(0, dot));
            }
        }
        return out;
    }();
    return sections;
}

void overlay_map(const YAML::Node& node, const std::string& prefix, app_config& config,
                 std::vector<std::string>& errors) {
    if (node.IsNull()) return;  // "log:" with nothing under it
    if (!node.IsMap()) {
        errors.push_back((prefix.empty() ? std::string("configuration file") : prefix) + ": got " +
                         std::string(node_kind(node)) + "; want a map of settings");
        return;
    }
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            errors.push_back((prefix.empty() ? std::string("configuration file") : prefix) +
                             ": keys must be plain names, not " +
                             std::string(node_kind(entry.first)));
            continue;
        }
        const std::string path =
            prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
        const YAML::Node& value = entry.second;
        if (const setting* s = detail::find_by_yaml_path(path)) {
            if (value.IsNull() && s->empty_allowed) {
                if (auto st = s->assign(config, ""); !st)
                    errors.push_back(path + ": " + st.error_message());
                continue;
            }
            if (value.IsSequence() && s->kind == value_kind::address_list) {
                std::vector<std::string> items;
                for (const auto& item : value) {
                    if (item.IsScalar()) items.push_back(item.Scalar());
                }
                auto st = items.size() == value.size()
                              ? s->assign_list(config, items)
                              : status(make_error("a list item is not a value; want " +
                                                  s->info.accepted));
                if (!st) errors.push_back(path + ": " + st.error_message());
                continue;
            }
            if (!value.IsScalar()) {
                errors.push_back(path + ": got " + std::string(node_kind(value)) + "; want " +
                                 s->info.accepted);
                continue;
            }
            if (auto st = s->assign(config, value.Scalar()); !st) {
                errors.push_back(path + ": " + st.error_message());
            }
        } else if (yaml_sections().count(path) != 0) {
            overlay_map(value, path, config, errors);
        } else {
            errors.push_back(path + ": unknown key; see docs/configuration.md for the keys");
        }
    }
}

void load_yaml_file(const std::string& file, app_config& config, std::vector<std::string>& errors) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        errors.push_back("-config: cannot read \"" + file + "\": " + std::strerror(errno));
        return;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    YAML::Node root;
    try {
        root = YAML::Load(buffer.str());
    } catch (const YAML::Exception& e) {
        errors.push_back("-config: \"" + file + "\" is not valid YAML: line " +
                         std::to_string(e.mark.line + 1) + ", column " +
                         std::to_string(e.mark.column + 1) + ": " + e.msg);
        return;
    }
    overlay_map(root, "", config, errors);
}

// ---- command line ------------------------------------------------------------------------------

const setting* find_by_flag(std::string_view flag) {
    for (const auto& s : settings_table()) {
        if (s.info.flag == flag) return &s;
    }
    return nullptr;
}

// Go's flag package takes one dash for long names; CLI11 wants two. "-name..." becomes "--name...";
// "-h", "--name", negative numbers and everything after "--" are left alone.
std::vector<std::string> normalize_args(int argc, const char* const argv[]) {
    std::vector<std::string> args;
    bool flags_done = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") flags_done = true;
        if (!flags_done && a.size() > 2 && a[0] == '-' && a[1] != '-' &&
            std::isalpha(static_cast<unsigned char>(a[1])) != 0) {
            a.insert(0, "-");
        }
        // CLI11 reads "--name=" as a missing value; Go's flag package (and we) read it as the
        // empty string, which CLI11 takes when it is a separate argument.
        if (!flags_done && a.size() > 3 && a.rfind("--", 0) == 0 && a.back() == '=' &&
            a.find('=') == a.size() - 1) {
            const auto* s = find_by_flag(a.substr(1, a.size() - 2));
            if (s != nullptr && s->kind != value_kind::boolean) {
                a.pop_back();
                args.push_back(std::move(a));
                args.emplace_back();
                continue;
            }
        }
        args.push_back(std::move(a));
    }
    return args;
}

std::string flag_name_of(std::string_view arg) {
    arg.remove_prefix(std::min(arg.find_first_not_of('-'), arg.size()));
    return "-" + std::string(arg.substr(0, arg.find('=')));
}

// Rewrites CLI11's wording ("--name: 1 required TEXT missing") into ours.
std::string describe_cli_error(const CLI::ParseError& e) {
    const std::string what = e.what();
    for (const auto& s : settings_table()) {
        const std::string cli_name = "-" + s.info.flag;
        if (what.rfind(cli_name + ":", 0) == 0 || what.rfind(cli_name + " ", 0) == 0) {
            return s.info.flag + ": missing value; want " + s.info.accepted;
        }
    }
    return "command line: " + what;
}

using detail::check_readable;
using detail::key_and_flag;
using detail::read_secret_file;
using detail::reported;

// Access control of one listener (prefix "receiver" or "stats"): one kind of credentials, both
// halves of basic auth and of the certificate, readable files. Secret files are read here so the
// rest of the daemon sees only the secret fields.
void check_access(listener_access_config& a, const std::string& prefix,
                  std::vector<std::string>& errors) {
    const auto before = errors.size();
    if (!a.bearer_token.empty() && !a.bearer_token_file.empty()) {
        errors.push_back(key_and_flag(prefix + ".bearer_token") + " / " +
                         key_and_flag(prefix + ".bearer_token_file") +
                         ": set one of them, not both");
    } else if (!a.bearer_token_file.empty()) {
        read_secret_file(prefix + ".bearer_token_file", a.bearer_token_file, a.loaded_bearer_token,
                         errors);
    }
    if (!a.basic_auth_password.empty() && !a.basic_auth_password_file.empty()) {
        errors.push_back(key_and_flag(prefix + ".basic_auth.password") + " / " +
                         key_and_flag(prefix + ".basic_auth.password_file") +
                         ": set one of them, not both");
    } else if (!a.basic_auth_password_file.empty()) {
        read_secret_file(prefix + ".basic_auth.password_file", a.basic_auth_password_file,
                         a.loaded_basic_auth_password, errors);
    }
    const bool bearer = !a.bearer_token.empty() || !a.bearer_token_file.empty();
    const bool basic = !a.basic_auth_username.empty() || !a.basic_auth_password.empty() ||
                       !a.basic_auth_password_file.empty();
    if (bearer && basic) {
        errors.push_back(prefix + ".bearer_token / " + prefix + ".basic_auth.username (-" + prefix +
                         "-bearer-token / -" + prefix +
                         "-basic-auth-username): choose one kind of credentials, a bearer token or "
                         "basic auth");
    } else if (basic && errors.size() == before) {
        if (a.basic_auth_username.empty()) {
            errors.push_back(key_and_flag(prefix + ".basic_auth.username") +
                             ": basic auth needs a user name besides the password");
        } else if (a.password().empty()) {
            errors.push_back(key_and_flag(prefix + ".basic_auth.password") + " / " +
                             key_and_flag(prefix + ".basic_auth.password_file") +
                             ": basic auth needs a password besides the user name");
        } else if (a.basic_auth_username.find(':') != std::string::npos) {
            errors.push_back(key_and_flag(prefix + ".basic_auth.username") +
                             ": a user name cannot contain ':'");
        }
    }
    if (a.tls_cert_file.empty() != a.tls_key_file.empty()) {
        errors.push_back(key_and_flag(prefix + ".tls.cert_file") + " / " +
                         key_and_flag(prefix + ".tls.key_file") +
                         ": TLS needs both the certificate and the key file, or neither");
    }
    if (!a.tls_client_ca_file.empty() && a.tls_cert_file.empty()) {
        errors.push_back(key_and_flag(prefix + ".tls.client_ca_file") +
                         ": client certificates need TLS; set " + prefix + ".tls.cert_file and " +
                         prefix + ".tls.key_file too");
    }
    check_readable(prefix + ".tls.cert_file", a.tls_cert_file, errors);
    check_readable(prefix + ".tls.key_file", a.tls_key_file, errors);
    check_readable(prefix + ".tls.client_ca_file", a.tls_client_ca_file, errors);
}

// Constraints between settings, checked once every value is in. A relation is skipped when one
// of its settings already has a problem: its value is then not the operator's, and a second
// message about it would only mislead.
void check_relations(app_config& config, std::vector<std::string>& errors) {
    check_access(config.receiver.access, "receiver", errors);
    check_access(config.stats.access, "stats", errors);
    const auto& card = config.cardinality;
    if (!reported(errors, "overflow.interval") &&
        config.overflow.interval < std::chrono::seconds(1)) {
        errors.push_back(key_and_flag("overflow.interval") + ": " +
                         format_duration(config.overflow.interval) +
                         " is shorter than 1s; want a duration of at least 1s, e.g. 15s");
    }
    if (!reported(errors, "cardinality.window") && !reported(errors, "cardinality.generations") &&
        card.generations > 0 && card.window / card.generations < std::chrono::seconds(1)) {
        errors.push_back(
            "cardinality.window / cardinality.generations (-cardinality-window / "
            "-cardinality-generations): " +
            format_duration(card.window) + " / " + std::to_string(card.generations) +
            " is a generation shorter than 1s; want a window of at least 1s per generation");
    }
    const auto& bp = config.bloom_persistence;
    if (!reported(errors, "bloom_persistence.chunk_size") && bp.chunk_size % 64 != 0)
        errors.push_back(key_and_flag("bloom_persistence.chunk_size") + ": " +
                         std::to_string(bp.chunk_size) +
                         " is not a multiple of 64; want 64, 128, 256, ... up to 1MiB");
    // The exporter module parses these again (exporter::create); checking here makes a bad value
    // a startup error with exit code 2 rather than a failure after the listeners are up.
    const auto& ex = config.exporter;
    if (!ex.endpoint.empty() && !reported(errors, "exporter.endpoint")) {
        const std::string_view url = ex.endpoint;
        const bool http = url.rfind("http://", 0) == 0;
        const bool https = url.rfind("https://", 0) == 0;
        const auto host_start = http ? 7U : 8U;
        // The URL as shown: user info may hold a password (and is refused below).
        const std::string shown = redact_url_userinfo(url);
        if (!http && !https) {
            errors.push_back("exporter.endpoint (-exporter-endpoint): \"" + shown +
                             "\" is not an http:// or https:// URL");
        } else if (url.size() <= host_start || url[host_start] == '/' || url[host_start] == ':') {
            errors.push_back("exporter.endpoint (-exporter-endpoint): \"" + shown +
                             "\" has no host");
        } else if (shown != url) {
            errors.push_back("exporter.endpoint (-exporter-endpoint): \"" + shown +
                             "\" has user info; use exporter.basic_auth.username and "
                             "exporter.basic_auth.password (or exporter.bearer_token)");
        }
    }
    if (!ex.headers.empty() && !reported(errors, "exporter.headers")) {
        std::string_view rest = ex.headers;
        std::size_t index = 0;
        while (!rest.empty()) {
            ++index;
            const auto comma = rest.find(',');
            const std::string_view item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            const auto eq = item.find('=');
            if (eq == std::string_view::npos || item.find_first_not_of(' ') == eq) {
                // By position only: header values are often credentials.
                errors.push_back("exporter.headers (-exporter-headers): header " +
                                 std::to_string(index) +
                                 " (values not shown) is not Name=value; want "
                                 "\"Name1=value1,Name2=value2\"");
                break;
            }
        }
    }
    if (ex.tls_cert_file.empty() != ex.tls_key_file.empty()) {
        errors.push_back(
            "exporter.tls.cert_file / exporter.tls.key_file (-exporter-tls-cert-file / "
            "-exporter-tls-key-file): a client certificate needs both files");
    }
    if (!ex.bearer_token.empty() && !ex.basic_auth_username.empty()) {
        errors.push_back(
            "exporter.bearer_token / exporter.basic_auth.username: choose one kind of "
            "Authorization");
    }
    if (ex.retry_backoff_base > ex.retry_backoff_max) {
        errors.push_back(
            "exporter.retry_backoff_base / exporter.retry_backoff_max: the base delay is longer "
            "than the largest delay");
    }
    detail::check_tenancy(config, errors);
    detail::check_cluster(config.cluster, errors);
}

}  // namespace

parse_outcome parse_command_line(int argc, const char* const argv[]) {
    parse_outcome out;
    const auto& table = settings_table();

    CLI::App app{"metrics-governor: a cardinality-governing metrics proxy"};
    app.set_help_flag();  // help_text() is ours, generated from the table
    app.allow_extras();
    std::vector<std::string> raw(table.size());
    std::vector<CLI::Option*> options(table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        const std::string name = "-" + table[i].info.flag;
        options[i] = table[i].kind == value_kind::boolean
                         ? app.add_flag(name, raw[i], table[i].info.help)
                         : app.add_option(name, raw[i], table[i].info.help);
        options[i]->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    auto* help_flag = app.add_flag("-h,--help");
    auto* version_flag = app.add_flag("--version");
    auto* show_flag = app.add_flag("--show-effective-config");
    auto* validate_cmd = app.add_subcommand(
        "validate", "Check the configuration file and flags, then exit: 0 if valid, 2 if not.");
    validate_cmd->fallthrough();
    validate_cmd->allow_extras();
    // For container HEALTHCHECKs and probes without curl in the image: the same flags and file
    // as the daemon, so it asks the stats address the daemon listens on.
    auto* health_cmd = app.add_subcommand(
        "healthcheck",
        "Ask the daemon on the stats address for /live, then exit: 0 if it answers 200, 1 if not.");
    health_cmd->fallthrough();
    health_cmd->allow_extras();

    std::vector<std::string> args = normalize_args(argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector in reverse order
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        out.errors.push_back(describe_cli_error(e));
    }

    if (help_flag->count() > 0) {
        out.cmd = command::help;
        out.output = help_text();
        out.errors.clear();
        return out;
    }
    if (version_flag->count() > 0) {
        out.cmd = command::version;
        out.output = version_text();
        out.errors.clear();
        return out;
    }

    std::vector<std::string> extras = app.remaining();
    for (const auto* sub : {validate_cmd, health_cmd}) {
        auto sub_extras = sub->remaining();
        extras.insert(extras.end(), sub_extras.begin(), sub_extras.end());
    }
    bool after_unknown_flag = false;
    for (const auto& extra : extras) {
        if (extra == "--") continue;  // end of flags; whatever follows is reported below
        if (extra.size() > 1 && extra[0] == '-') {
            out.errors.push_back(flag_name_of(extra) +
                                 ": unknown flag; run with -help for the list");
            after_unknown_flag = extra.find('=') == std::string::npos;
        } else if (!after_unknown_flag) {
            out.errors.push_back(
                "\"" + extra +
                "\": unexpected argument; the only commands are validate, healthcheck and "
                "state (first: metrics-governor state inspect|verify)");
        } else {
            after_unknown_flag = false;  // most likely the unknown flag's value
        }
    }

    // Precedence: defaults (the struct), then the file, then flags.
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].is_flag_only && options[i]->count() > 0) {
            if (auto st = table[i].assign(out.config, raw[i]); !st) {
                out.errors.push_back(table[i].info.flag + ": " + st.error_message());
            }
        }
    }
    if (!out.config.config_file.empty()) {
        load_yaml_file(out.config.config_file, out.config, out.errors);
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (!table[i].is_flag_only && options[i]->count() > 0) {
            if (auto st = table[i].assign(out.config, raw[i]); !st) {
                out.errors.push_back(table[i].info.flag + ": " + st.error_message());
            }
        }
    }

    check_relations(out.config, out.errors);

    if (show_flag->count() > 0) {
        out.cmd = command::show_effective_config;
    } else if (validate_cmd->parsed()) {
        out.cmd = command::validate;
    } else if (health_cmd->parsed()) {
        out.cmd = command::healthcheck;
    }
    if (out.errors.empty() && out.cmd == command::show_effective_config)
        out.output = to_yaml(out.config);
    return out;
}

// ---- output ------------------------------------------------------------------------------------

namespace {

// Emits the settings whose YAML path starts with prefix, as a nested map in table order.
void emit_section(YAML::Emitter& yaml, const app_config& config, const std::string& prefix) {
    std::vector<std::string> done;
    yaml << YAML::BeginMap;
    for (const auto& s : settings_table()) {
        if (s.is_flag_only) continue;
        const std::string& path = s.info.yaml_path;
        if (path.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = path.substr(prefix.size());
        const auto dot = rest.find('.');
        if (dot != std::string::npos) {
            const std::string section = rest.substr(0, dot);
            if (std::find(done.begin(), done.end(), section) != done.end()) continue;
            done.push_back(section);
            yaml << YAML::Key << section << YAML::Value;
            emit_section(yaml, config, prefix + section + ".");
            continue;
        }
        yaml << YAML::Key << rest << YAML::Value;
        if (s.info.secret) {
            // An unset secret shows as "": that it is unset reveals nothing, and the output then
            // loads back as long as no secret is set.
            yaml << YAML::DoubleQuoted << (s.render(config).empty() ? "" : "<redacted>");
            continue;
        }
        switch (s.kind) {
            case value_kind::size: {
                // A plain byte count as in the spec, with the readable form beside it.
                const auto bytes = *std::get<const std::uint64_t*>(s.const_field(config));
                yaml << bytes;
                if (s.render(config) != std::to_string(bytes)) {
                    yaml << YAML::Comment(s.render(config));
                }
                break;
            }
            case value_kind::string:
            case value_kind::choice:
            case value_kind::listen_address:
                yaml << YAML::DoubleQuoted << s.render(config);
                break;
            case value_kind::boolean:
            case value_kind::integer:
            case value_kind::real:
            case value_kind::duration:
                yaml << s.render(config);
                break;
            case value_kind::address_list:
                yaml << YAML::Flow << YAML::BeginSeq;
                for (const auto& item :
                     *std::get<const std::vector<std::string>*>(s.const_field(config))) {
                    yaml << YAML::DoubleQuoted << item;
                }
                yaml << YAML::EndSeq;
                break;
        }
    }
    yaml << YAML::EndMap;
}

std::string pad(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

}  // namespace

std::string to_yaml(const app_config& config) {
    YAML::Emitter yaml;
    yaml << YAML::Comment("metrics-governor effective configuration (defaults < file < flags)");
    emit_section(yaml, config, "");
    return std::string(yaml.c_str()) + "\n";
}

std::string help_text() {
    std::ostringstream out;
    out << "Usage: metrics-governor [validate|healthcheck] [flags]\n"
           "       metrics-governor state inspect|verify -bloom-persistence-path DIR "
           "[-format text|json]\n"
           "\n"
           "Runs the proxy. With the command word `validate`, checks the configuration (file and\n"
           "flags) and exits: 0 if it is valid, 2 with every problem listed if not. With\n"
           "`healthcheck`, asks the daemon on -stats-addr for /live (127.0.0.1 when the host is\n"
           "empty or 0.0.0.0) and exits 0 if it answers 200 within 5s, 1 if not. `state inspect`\n"
           "and `state verify` read a bloom state directory without changing it (state -help).\n"
           "\n"
           "Flags take one dash or two and their value after '=' or a space (-stats-addr=:9090,\n"
           "--stats-addr :9090); boolean flags alone mean true (-bloom-persistence-enabled) or "
           "take\n"
           "=true/=false. Each setting is also a YAML key; a flag overrides the -config file, "
           "which\n"
           "overrides the default. Sizes: 524288000, 500MB, 500MiB, 512Ki. Durations: 30s, 5m, "
           "1h,\n"
           "2h30m.\n";
    for (const auto& group : group_names()) {
        out << "\n" << group << ":\n";
        auto print = [&out](const setting_info& info) {
            out << "  " << pad(info.flag + " " + info.type_name, 46);
            if (!info.yaml_path.empty()) {
                out << " yaml: " << info.yaml_path;
            } else {
                out << " (flag only)";
            }
            out << "\n        " << info.help
                << "\n        default: " << (info.default_text.empty() ? "\"\"" : info.default_text)
                << "; accepts: " << info.accepted << "\n";
        };
        for (const auto& info : all_settings()) {
            if (info.group == group) print(info);
        }
        if (group == "General") {
            for (const auto& info : command_flags()) {
                out << "  " << info.flag << "\n        " << info.help << "\n";
            }
        }
    }
    return out.str();
}

std::string version_text() {
    std::string compiler;
#if defined(__clang__)
    compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    compiler = "gcc " __VERSION__;
#else
    compiler = "unknown compiler";
#endif
    return "metrics-governor " MG_VERSION "\nbuild: " + compiler + ", " MG_BUILD_TYPE ", C++" +
           std::to_string(__cplusplus) + "\n";
}

}  // namespace mg::config
