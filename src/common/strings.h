// strings: the small text helpers several modules need (HTTP header values, configuration
// values, credentials, OTLP bytes), in one copy: ASCII trimming, lower-casing and
// case-insensitive comparison, and RFC 4648 base64.
//
// ASCII only, on purpose: HTTP tokens, units and scheme names are ASCII, and the results must not
// depend on the process's locale. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mg {

// The characters trim() removes by default: ASCII white space as isspace() sees it in the C locale.
inline constexpr std::string_view k_ascii_whitespace = " \t\n\v\f\r";
// HTTP's optional white space (RFC 9110, "OWS"): space and horizontal tab only.
inline constexpr std::string_view k_http_whitespace = " \t";

// s without the leading and trailing characters that are in `chars`.
std::string_view trim(std::string_view s, std::string_view chars = k_ascii_whitespace);
// s with ASCII letters lower-cased; other bytes unchanged.
std::string lower(std::string_view s);
// Equal ignoring the case of ASCII letters.
bool iequals(std::string_view a, std::string_view b);

// Appends the standard, padded base64 of `in` to `out`.
void base64_append(std::string_view in, std::string& out);
// The standard, padded base64 of `in` (basic auth, OTLP/JSON bytes).
std::string base64_encode(std::string_view in);
// Appends the bytes `in` encodes to `out`. Lenient as the protobuf JSON mapping asks: the standard
// or the URL-safe alphabet, padding optional. False (out then holds a partial result) for any
// other character or a length no encoding has.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace mg
