#include "http/types.h"

#include <boost/beast/version.hpp>
#include <charconv>

namespace mg::http {

response make_response(const request& req, bhttp::status status, std::string body,
                       std::string_view content_type) {
    return make_response(req.version(), req.keep_alive(), status, std::move(body), content_type);
}

response make_response(unsigned version, bool keep_alive, bhttp::status status, std::string body,
                       std::string_view content_type) {
    response res{status, version};
    res.set(bhttp::field::server, "metrics-governor");
    res.set(bhttp::field::content_type, content_type);
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::string_view target_path(std::string_view target) {
    const auto q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

std::map<std::string, std::string> query_params(std::string_view target) {
    std::map<std::string, std::string> out;
    const auto q = target.find('?');
    if (q == std::string_view::npos) return out;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq));
        auto value =
            eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
        out.emplace(std::move(key), std::move(value));
    }
    return out;
}

std::optional<std::size_t> positive_param(const std::map<std::string, std::string>& params,
                                          const std::string& name, std::size_t fallback) {
    const auto it = params.find(name);
    if (it == params.end()) return fallback;
    const auto& v = it->second;
    std::size_t parsed = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    if (ec != std::errc() || p != v.data() + v.size() || parsed == 0) return std::nullopt;
    return parsed;
}

std::string positive_param_error(const std::map<std::string, std::string>& params,
                                 const std::string& name) {
    const auto it = params.find(name);
    const std::string v = it == params.end() ? std::string{} : it->second.substr(0, 64);
    return name + " must be a positive integer, got \"" + v + "\"";
}

}  // namespace mg::http
