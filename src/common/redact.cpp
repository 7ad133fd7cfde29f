#include "common/redact.h"

namespace mg {

std::string redact_url_userinfo(std::string_view url) {
    const auto scheme_end = url.find("://");
    const auto authority_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const auto authority_end = url.find_first_of("/?#", authority_begin);
    const auto authority = url.substr(authority_begin, authority_end == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : authority_end - authority_begin);
    // The last '@' ends the user info: a password may itself contain '@'.
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) return std::string(url);
    return std::string(url.substr(0, authority_begin)) + std::string(k_redacted) +
           std::string(url.substr(authority_begin + at));
}

}  // namespace mg
