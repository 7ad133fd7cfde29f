// access: who may call a listener. An authenticator holds the credentials one listener expects
// (a bearer token or HTTP basic auth, never both) and the paths that stay open without them; the
// server asks it about each request once the header is read, before the body and the router.
// Refused requests get 401 with a WWW-Authenticate challenge naming the scheme.
//
// The secret itself is not kept: only its SHA-256, compared with the digest of what the client
// sent in constant time, so neither the comparison's timing nor a memory dump of the object
// reveals it, and a token of another length takes the same path.
// Immutable after construction: safe to use from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/types.h"

namespace mg::http {

struct credentials {
    std::string bearer_token{};    // non-empty: "Authorization: Bearer <token>"
    std::string basic_username{};  // non-empty: "Authorization: Basic base64(user:password)"
    std::string basic_password{};
};

inline constexpr std::string_view k_realm = "metrics-governor";

// Refusals by the access control of a listener, for metrics (telemetry/listener_collector.h reads
// them at scrape time). Lock-free; written from any I/O thread. May be shared by several
// listeners of one kind.
class access_counters {
  public:
    void unauthorized() { unauthorized_.fetch_add(1, std::memory_order_relaxed); }
    void tls_handshake_failed() { tls_failed_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t unauthorized_total() const {
        return unauthorized_.load(std::memory_order_relaxed);
    }
    std::uint64_t tls_handshake_failures_total() const {
        return tls_failed_.load(std::memory_order_relaxed);
    }

  private:
    std::atomic<std::uint64_t> unauthorized_{0};
    std::atomic<std::uint64_t> tls_failed_{0};
};

class authenticator {
  public:
    // With no credentials (both kinds empty) every request is allowed. A bearer token wins over
    // basic auth; the configuration refuses both at once before this is built.
    explicit authenticator(const credentials& creds, std::vector<std::string> open_paths = {});

    bool enabled() const { return scheme_ != scheme::none; }
    // Whether the request may proceed: the path is open, auth is off, or it carries the
    // credentials. Only the request line and header are looked at.
    template <typename Fields>
    bool allows(const bhttp::request_header<Fields>& req) const {
        if (scheme_ == scheme::none || is_open(target_path(req.target()))) return true;
        const auto it = req.find(bhttp::field::authorization);
        return it != req.end() && check(it->value());
    }
    // Whether an Authorization value (header or gRPC `authorization` metadata) carries the
    // credentials; always true when auth is off.
    bool accepts(std::string_view authorization) const {
        return scheme_ == scheme::none || check(authorization);
    }
    // The 401 for a refused request, with WWW-Authenticate: Bearer or Basic
    // realm="metrics-governor".
    response challenge(unsigned version) const;

  private:
    enum class scheme { none, bearer, basic };
    bool is_open(std::string_view path) const;
    bool check(std::string_view authorization) const;

    scheme scheme_ = scheme::none;
    std::array<unsigned char, 32> expected_{};  // SHA-256 of the expected credential text
    std::vector<std::string> open_paths_;
};

}  // namespace mg::http
