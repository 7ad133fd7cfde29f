#include "export/retry.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>

namespace mg::exporter {

random_source default_random_source() {
    struct state {
        std::mutex mu;
        std::mt19937_64 engine{std::random_device{}()};
        std::uniform_real_distribution<double> dist{0.0, 1.0};
    };
    auto s = std::make_shared<state>();
    return [s] {
        std::lock_guard lock(s->mu);
        return s->dist(s->engine);
    };
}

backoff_policy::backoff_policy(std::chrono::nanoseconds base, std::chrono::nanoseconds max,
                               random_source random)
    : base_(base), max_(std::max(base, max)), random_(std::move(random)) {
    if (!random_) random_ = default_random_source();
}

std::chrono::nanoseconds backoff_policy::ceiling(unsigned attempt) const {
    // Doubling past 2^40 overflows long before it matters: max_ caps it anyway.
    const unsigned shift = std::min(attempt, 40U);
    const double raw =
        static_cast<double>(base_.count()) * std::ldexp(1.0, static_cast<int>(shift));
    if (raw >= static_cast<double>(max_.count())) return max_;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(raw));
}

std::chrono::nanoseconds backoff_policy::next_delay(unsigned attempt) const {
    const double r = std::clamp(random_(), 0.0, 1.0);
    return std::chrono::nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(ceiling(attempt).count()) * r));
}

namespace {

std::optional<int> number(std::string_view s) {
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::chrono::system_clock::time_point> parse_imf_fixdate(std::string_view s) {
    static constexpr std::array<std::string_view, 12> k_months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT") {
        return std::nullopt;
    }
    const auto day = number(s.substr(5, 2));
    const auto month_it = std::find(k_months.begin(), k_months.end(), s.substr(8, 3));
    const auto year = number(s.substr(12, 4));
    const auto hour = number(s.substr(17, 2));
    const auto minute = number(s.substr(20, 2));
    const auto second = number(s.substr(23, 2));
    if (!day || month_it == k_months.end() || !year || !hour || !minute || !second) {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day ymd{
        std::chrono::year{*year},
        std::chrono::month{static_cast<unsigned>(month_it - k_months.begin() + 1)},
        std::chrono::day{static_cast<unsigned>(*day)}};
    if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    return system_clock::time_point{sys_days{ymd}.time_since_epoch() + hours{*hour} +
                                    minutes{*minute} + seconds{*second}};
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::int64_t secs = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
        if (ec != std::errc() || ptr != value.data() + value.size()) {
            secs = std::int64_t{1} << 32;  // absurdly long; the caller caps it
        }
        return std::chrono::seconds(std::min<std::int64_t>(secs, std::int64_t{1} << 32));
    }
    const auto when = parse_imf_fixdate(value);
    if (!when) return std::nullopt;
    if (*when <= now) return std::chrono::nanoseconds::zero();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(*when - now);
}

}  // namespace mg::exporter
