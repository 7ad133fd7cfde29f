// The settings table behind config.h: one row per setting, pointing at its field in app_config.
// Internal to the config module (config.cpp and the tests use it); other modules read the typed
// structs and, for documentation, all_settings().
//
// A row is built with make_setting<&app_config::section, &section_config::field>(yaml_path, group,
// help) and refined with .int_range(), .size_range(), .real_range(), .positive(), .one_of(),
// .listen_address(), .allow_empty(), .secret(), .flag_only() or .flag(). The value kind comes from
// the field's type (a std::uint64_t is a size unless .int_range() makes it a plain count; a
// std::vector<std::string> is a list of server addresses). The flag name, default text and
// accepted form are derived when the table is built, so a row never repeats the struct's default.
//
// The rows of the cluster section are in cluster_settings.cpp (add_cluster_rows), with the
// checks between them; the helpers of such checks (setting_checks.cpp) are declared here too.
//
// The table is built once, on first use, and is immutable afterwards: safe to read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace mg::config::detail {

enum class group {
    general,
    logging,
    http,
    receiver,
    tenancy,
    stats,
    cardinality,
    limits,
    bloom_persistence,
    exporter,
    cluster
};

enum class value_kind {
    boolean,
    integer,
    real,
    size,
    duration,
    string,
    choice,
    listen_address,
    // host:port items, each parse_server_address's form: comma-separated in a flag or a YAML
    // string, or a YAML list. An empty text is the empty list.
    address_list
};

using field_ref = std::variant<bool*, int*, std::uint64_t*, double*, std::chrono::nanoseconds*,
                               std::string*, std::vector<std::string>*>;
using const_field_ref = std::variant<const bool*, const int*, const std::uint64_t*, const double*,
                                     const std::chrono::nanoseconds*, const std::string*,
                                     const std::vector<std::string>*>;

enum class lower_bound { inclusive, exclusive };

struct real_bounds {
    double lo = 0;
    double hi = 0;
    lower_bound lo_kind = lower_bound::inclusive;  // the upper bound is always inclusive
};

struct setting {
    setting_info info;  // flag, default_text, type_name and accepted are filled by the table
    group grp = group::general;
    value_kind kind = value_kind::string;
    field_ref (*field)(app_config&) = nullptr;
    const_field_ref (*const_field)(const app_config&) = nullptr;
    std::optional<std::pair<std::int64_t, std::int64_t>> int_bounds;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> size_bounds;
    std::optional<real_bounds> real_limits;
    bool must_be_positive = false;
    bool empty_allowed = false;
    bool is_flag_only = false;
    std::string own_flag;  // set by .flag(); else the flag is derived from the YAML path
    std::vector<std::string> choices;

    // On a std::uint64_t field this also makes the value a plain count ("100000"), not a size.
    setting&& int_range(std::int64_t lo, std::int64_t hi) && {
        int_bounds = {lo, hi};
        if (kind == value_kind::size) kind = value_kind::integer;
        return std::move(*this);
    }
    // Doubles: NaN and infinities are always rejected.
    setting&& real_range(double lo, double hi, lower_bound lo_kind = lower_bound::inclusive) && {
        real_limits = real_bounds{lo, hi, lo_kind};
        return std::move(*this);
    }
    setting&& size_range(std::uint64_t lo, std::uint64_t hi) && {
        size_bounds = {lo, hi};
        return std::move(*this);
    }
    // Durations: zero is rejected.
    setting&& positive() && {
        must_be_positive = true;
        return std::move(*this);
    }
    setting&& one_of(std::initializer_list<const char*> values) && {
        kind = value_kind::choice;
        choices.assign(values.begin(), values.end());
        return std::move(*this);
    }
    // Strings: the empty string is a valid value (meaning "none"), not an error.
    setting&& allow_empty() && {
        empty_allowed = true;
        return std::move(*this);
    }
    setting&& listen_address() && {
        kind = value_kind::listen_address;
        return std::move(*this);
    }
    // Shown as "<redacted>" in -show-effective-config and help.
    setting&& secret() && {
        info.secret = true;
        return std::move(*this);
    }
    // Only a flag; the key passed to make_setting is the flag name without '-'.
    setting&& flag_only() && {
        is_flag_only = true;
        return std::move(*this);
    }
    // A flag name other than the derived one ("-cluster-redis-addr" for cluster.addresses), for a
    // flag whose name was settled before its YAML key. Rare on purpose: settings_test lists them.
    setting&& flag(std::string name) && {
        own_flag = std::move(name);
        return std::move(*this);
    }

    // Parses text (a flag value or a YAML scalar) into the field of config. On failure config is
    // unchanged and the message says what was wrong and what is accepted, without the name.
    status assign(app_config& config, std::string_view text) const;
    // A YAML list's items, for an address_list (each item as assign() takes text). Other kinds
    // take no list.
    status assign_list(app_config& config, const std::vector<std::string>& items) const;
    // The value as text that assign() accepts back: "30s", "500MB", "true", ":9090".
    std::string render(const app_config& config) const;
};

template <typename T>
inline constexpr bool k_unsupported_field_type = false;

// A new field type needs a field_ref alternative and cases in assign() and render().
template <typename T>
constexpr value_kind kind_of() {
    if constexpr (std::is_same_v<T, bool>) {
        return value_kind::boolean;
    } else if constexpr (std::is_same_v<T, int>) {
        return value_kind::integer;
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        return value_kind::size;
    } else if constexpr (std::is_same_v<T, double>) {
        return value_kind::real;
    } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
        return value_kind::duration;
    } else if constexpr (std::is_same_v<T, std::string>) {
        return value_kind::string;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        return value_kind::address_list;
    } else {
        static_assert(k_unsupported_field_type<T>, "no value_kind for this field type");
    }
}

// Members is the chain of member pointers from app_config to the field, e.g.
// make_setting<&app_config::log, &log_config::level>("log.level", group::logging, "...").
template <auto... Members>
setting make_setting(std::string key, group grp, std::string help) {
    setting s;
    s.info.yaml_path = std::move(key);
    s.info.help = std::move(help);
    s.grp = grp;
    // clang-format off
    s.field = [](app_config& c) -> field_ref { return &(c .* ... .* Members); };
    s.const_field = [](const app_config& c) -> const_field_ref { return &(c .* ... .* Members); };
    using field_type =
        std::remove_cvref_t<decltype((std::declval<app_config&>() .* ... .* Members))>;
    // clang-format on
    s.kind = kind_of<field_type>();
    return s;
}

// The table, in help order.
const std::vector<setting>& settings_table();
// The row for a YAML path, or nullptr. Flag-only rows are not found.
const setting* find_by_yaml_path(std::string_view path);
std::string_view group_name(group g);

// "int", "duration", "address"...: the type shown in -help and the docs (setting_values.cpp).
std::string_view type_name_of(const setting& s);
// What the setting accepts, as every message about a bad value ends (setting_values.cpp).
std::string accepted_form(const setting& s);

// The cluster section's rows, in help order (cluster_settings.cpp).
void add_cluster_rows(std::vector<setting>& rows);
// The checks of the cluster section that one row cannot make (cluster_settings.cpp); reads
// password_file into loaded_password when cluster mode is on.
void check_cluster(cluster_config& cluster, std::vector<std::string>& errors);

// The checks of the tenancy section and exporter.tenant_header that one row cannot make
// (setting_checks.cpp).
void check_tenancy(const app_config& config, std::vector<std::string>& errors);

// Helpers of the checks between settings (setting_checks.cpp).
// "cluster.db (-cluster-db)": how a message about a relation names a setting.
std::string key_and_flag(const std::string& yaml_path);
// Whether a problem was already reported for the setting at yaml_path (by key or by flag).
bool reported(const std::vector<std::string>& errors, std::string_view yaml_path);
// Reads a secret file into `into`: the whole content, a trailing line break dropped; an
// unreadable or empty file is an error naming the key and the path, never the content.
void read_secret_file(const std::string& key, const std::string& path, std::string& into,
                      std::vector<std::string>& errors);
// An error naming the key and the path when the file (if any) cannot be opened for reading.
void check_readable(const std::string& key, const std::string& path,
                    std::vector<std::string>& errors);

}  // namespace mg::config::detail
