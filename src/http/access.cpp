#include "http/access.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

#include "common/strings.h"

namespace mg::http {

namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
    return out;
}

}  // namespace

authenticator::authenticator(const credentials& creds, std::vector<std::string> open_paths)
    : open_paths_(std::move(open_paths)) {
    if (!creds.bearer_token.empty()) {
        scheme_ = scheme::bearer;
        expected_ = sha256(creds.bearer_token);
    } else if (!creds.basic_username.empty()) {
        scheme_ = scheme::basic;
        // Clients encode user:password in standard padded base64, so the encoded forms compare.
        expected_ = sha256(base64_encode(creds.basic_username + ":" + creds.basic_password));
    }
}

bool authenticator::is_open(std::string_view path) const {
    return std::find(open_paths_.begin(), open_paths_.end(), path) != open_paths_.end();
}

bool authenticator::check(std::string_view authorization) const {
    // "<scheme> <credentials>"; the scheme name is case-insensitive (RFC 9110 11.1).
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos) return false;
    const auto name = authorization.substr(0, space);
    const auto value = trim(authorization.substr(space + 1), " ");
    const bool scheme_ok =
        scheme_ == scheme::bearer ? iequals(name, "Bearer") : iequals(name, "Basic");
    const auto got = sha256(value);
    const bool value_ok = CRYPTO_memcmp(got.data(), expected_.data(), expected_.size()) == 0;
    return scheme_ok && value_ok;
}

response authenticator::challenge(unsigned version) const {
    response res(bhttp::status::unauthorized, version);
    res.set(bhttp::field::server, "metrics-governor");
    res.set(bhttp::field::content_type, k_text);
    res.set(bhttp::field::www_authenticate,
            std::string(scheme_ == scheme::bearer ? "Bearer" : "Basic") + " realm=\"" +
                std::string(k_realm) + "\"");
    res.body() = scheme_ == scheme::bearer
                     ? "401 unauthorized: this listener needs Authorization: Bearer <token>\n"
                     : "401 unauthorized: this listener needs HTTP basic auth\n";
    res.prepare_payload();
    return res;
}

}  // namespace mg::http
