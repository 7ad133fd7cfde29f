// The access control of one of the daemon's listeners (ingest or stats) built from its settings:
// the authenticator for its credentials and the server TLS context from its files. Used by the
// daemon at startup and by `validate`, so both refuse the same files with the same message.
// Plain functions; the results are shared, immutable after creation, safe to use from any thread.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "http/access.h"

namespace mg::cmd {

struct listener_access {
    std::shared_ptr<const mg::http::authenticator> auth;  // null: no credentials asked for
    std::shared_ptr<boost::asio::ssl::context> tls;       // null: plain HTTP
};

// The credentials (with open_paths reachable without them) and the TLS context of the listener
// whose settings are `a` under the YAML prefix ("receiver" or "stats"). A TLS file that cannot be
// used fails, naming the setting and the path: a configuration error (exit 2).
mg::result<listener_access> make_listener_access(const mg::config::listener_access_config& a,
                                                 const std::string& prefix,
                                                 std::vector<std::string> open_paths);

// Stats: /live and /ready stay open for probes (and the healthcheck command), /metrics too unless
// -stats-protect-metrics; everything else (the cardinality API) needs the credentials.
std::vector<std::string> stats_open_paths(const mg::config::stats_config& s);

}  // namespace mg::cmd
