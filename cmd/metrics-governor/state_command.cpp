// The `state` command's arguments and exit codes (see state_command.h).
#include "state_command.h"

#include <string_view>

#include "persistence/state_inspect.h"
#include "persistence/state_render.h"

namespace mg::cmd {
namespace {

constexpr std::string_view k_path_flag = "-bloom-persistence-path";
constexpr std::string_view k_path_form =
    "the state directory, e.g. -bloom-persistence-path=/var/lib/metrics-governor/bloom-state";
constexpr std::string_view k_format_form = "text or json";

bool is_action(const std::string& word) {
    return word == "inspect" || word == "verify";
}

}  // namespace

state_args parse_state_args(const std::vector<std::string>& args) {
    state_args out;
    bool path_given = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.size() > 1 && a[0] == '-') {
            std::string_view name(a);
            name.remove_prefix(name.starts_with("--") ? 2 : 1);
            std::string value;
            bool has_value = false;
            if (const auto eq = name.find('='); eq != std::string_view::npos) {
                value = std::string(name.substr(eq + 1));
                name = name.substr(0, eq);
                has_value = true;
            }
            const std::string flag = "-" + std::string(name);
            if (flag == "-h" || flag == "-help") {
                out.help = true;
                continue;
            }
            if (flag != k_path_flag && flag != "-format") {
                out.errors.push_back(flag + ": unknown flag; the state commands take " +
                                     std::string(k_path_flag) + " and -format");
                // Most likely the unknown flag's value: not reported as a second problem.
                if (!has_value && i + 1 < args.size() && !args[i + 1].starts_with("-") &&
                    !(out.action == state_action::none && is_action(args[i + 1])))
                    ++i;
                continue;
            }
            if (!has_value && i + 1 < args.size()) {
                value = args[++i];
                has_value = true;
            }
            if (flag == k_path_flag) {
                path_given = true;
                if (!has_value || value.empty()) {
                    out.errors.push_back(flag + ": missing value; want " +
                                         std::string(k_path_form));
                } else {
                    out.path = value;
                }
            } else if (!has_value) {
                out.errors.push_back("-format: missing value; want " + std::string(k_format_form));
            } else if (value == "json" || value == "text") {
                out.json = value == "json";
            } else {
                out.errors.push_back("-format: \"" + value + "\" is not accepted; want " +
                                     std::string(k_format_form));
            }
        } else if (out.action == state_action::none && is_action(a)) {
            out.action = a == "inspect" ? state_action::inspect : state_action::verify;
        } else if (out.action == state_action::none) {
            out.errors.push_back("\"" + a + "\": unknown state command; want inspect or verify");
        } else {
            out.errors.push_back("\"" + a + "\": unexpected argument");
        }
    }
    if (out.help) {
        out.errors.clear();
        return out;
    }
    if (out.action == state_action::none && out.errors.empty())
        out.errors.push_back("state: missing command; want inspect or verify");
    if (!path_given)
        out.errors.push_back(std::string(k_path_flag) + ": required; want " +
                             std::string(k_path_form));
    return out;
}

std::string state_help_text() {
    return "Usage: metrics-governor state inspect|verify -bloom-persistence-path DIR "
           "[-format text|json]\n"
           "\n"
           "Reads a bloom state directory without starting the daemon and without changing it\n"
           "(docs/persistence.md, \"Looking at a state directory\").\n"
           "\n"
           "  inspect  each tracker: key, counts, generations, times, base file and increments\n"
           "           with their CRC32 status; files meta.json does not list; unreadable/.\n"
           "           Exit 0 when meta.json was read, 1 when there is no readable state.\n"
           "  verify   every problem on a line of its own (a missing, mismatching or undecodable\n"
           "           file, a torn increment, a malformed or unknown meta.json): exit 1 if any,\n"
           "           0 if none. Warnings (a base of the previous save, superseded increments,\n"
           "           unlisted files, unreadable/) do not fail it.\n"
           "\n"
           "  -bloom-persistence-path DIR  the state directory (required)\n"
           "  -format text|json            output format (default text)\n"
           "\n"
           "Exit code 2: the arguments are wrong.\n";
}

int run_state_command(const std::vector<std::string>& args, file_system& fs, mg::clock& clock,
                      std::ostream& out, std::ostream& err) {
    const state_args a = parse_state_args(args);
    if (a.help) {
        out << state_help_text();
        return 0;
    }
    if (!a.errors.empty()) {
        err << "metrics-governor state: invalid arguments (" << a.errors.size() << " problem"
            << (a.errors.size() == 1 ? "" : "s") << "):\n";
        for (const auto& e : a.errors) err << "  " << e << "\n";
        err << "run 'metrics-governor state -help' for the usage\n";
        return 2;
    }
    persistence::inspect_options options;
    options.path = a.path;
    const auto report = persistence::inspect_state(fs, clock, options);
    const bool verify = a.action == state_action::verify;
    if (a.json) {
        out << persistence::render_json(report);
    } else if (!report.readable) {
        // Nothing to report on but the reason.
        for (const auto& p : report.problems) err << "metrics-governor state: " << p << "\n";
    } else {
        out << (verify ? persistence::render_verify_text(report)
                       : persistence::render_inspect_text(report));
    }
    if (verify) return report.problems.empty() ? 0 : 1;
    return report.index_usable() ? 0 : 1;
}

}  // namespace mg::cmd
