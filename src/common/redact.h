// redact: keeps secrets out of messages and logs. A URL's user info ("https://user:pass@host")
// is replaced before the URL is shown anywhere. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mg {

inline constexpr std::string_view k_redacted = "<redacted>";

// "https://user:pass@host/p" -> "https://<redacted>@host/p"; a URL without user info is returned
// unchanged.
std::string redact_url_userinfo(std::string_view url);

}  // namespace mg
