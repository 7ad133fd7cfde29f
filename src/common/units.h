// Parsing and printing of the byte sizes and durations that operators type in flags and YAML.
// Pure functions; thread-safe.
//
// Sizes: a plain byte count (524288000) or a number with a unit. Decimal-looking units are read
// as binary multiples, as the bloom-persistence spec does (its "500MB" default is 524288000):
// K/KB/Ki/KiB = 1024, M/MB/Mi/MiB = 1024^2, G/GB/Gi/GiB = 1024^3, T/TB/Ti/TiB = 1024^4. B is bytes.
// Fractions are allowed with a unit (1.5GiB). Units are case-insensitive.
//
// Durations: Go's time.ParseDuration form: a sequence of decimal numbers with units ns, us, ms,
// s, m, h ("30s", "5m", "2h30m", "1.5h"); "0" alone means zero. A bare number is an error, because
// "30" could mean seconds or nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mg {

result<std::uint64_t> parse_byte_size(std::string_view text);
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// Largest unit that divides exactly, printed with the spec's KB/MB/GB/TB names for binary
// multiples: 524288000 -> "500MB", 1048576 -> "1MB", 1536 -> "1536B" (so the text parses back to
// the same number).
std::string format_byte_size(std::uint64_t bytes);
// Go's Duration.String() form without trailing zero units: 30s, 5m, 1h, 2h30m, 1h5m, 1.5s, 250ms.
std::string format_duration(std::chrono::nanoseconds d);

// The accepted forms, for error messages.
inline constexpr std::string_view k_byte_size_forms =
    "a byte count or a number with a unit, e.g. 524288000, 500MB, 500MiB, 512Ki";
inline constexpr std::string_view k_duration_forms =
    "a duration with units ns, us, ms, s, m, h, e.g. 30s, 5m, 1h, 2h30m";

}  // namespace mg
