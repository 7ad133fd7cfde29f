// retry: when to try an upstream request again. Exponential backoff with full jitter (the AWS
// "full jitter" scheme: a uniform delay in [0, min(max, base * 2^attempt)]) and the parsing of
// Retry-After (delta seconds or an HTTP date, RFC 9110 section 10.2.3).
//
// Randomness is injected (a function returning a uniform double in [0, 1)), so tests get exact
// delays. backoff_policy is immutable after construction; next_delay() is safe from any thread
// if the random source is (the default one locks a mutex around its engine).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace mg::exporter {

using random_source = std::function<double()>;

// A thread-safe uniform [0, 1) source seeded from std::random_device.
random_source default_random_source();

class backoff_policy {
  public:
    backoff_policy(std::chrono::nanoseconds base, std::chrono::nanoseconds max,
                   random_source random);
    // The delay before retry number `attempt` (0 for the first retry).
    std::chrono::nanoseconds next_delay(unsigned attempt) const;
    // The delay without jitter: min(max, base * 2^attempt).
    std::chrono::nanoseconds ceiling(unsigned attempt) const;

  private:
    std::chrono::nanoseconds base_;
    std::chrono::nanoseconds max_;
    random_source random_;
};

// Retry-After as a delay from `now`: "120" -> 120s, "Wed, 21 Oct 2015 07:28:00 GMT" -> the time
// until then (zero when it is past). nullopt for anything else (then the backoff applies).
// Only the IMF-fixdate form of HTTP dates is accepted, as RFC 9110 requires of senders.
std::optional<std::chrono::nanoseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace mg::exporter
