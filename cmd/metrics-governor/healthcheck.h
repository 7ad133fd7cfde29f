// `metrics-governor healthcheck`: one blocking GET of /live on the stats address, for container
// HEALTHCHECKs and exec probes in images that carry no curl. Runs on the calling thread only.
#pragma once

#include <chrono>
#include <string>

namespace mg::cmd {

// 0 when http://HOST:PORT/live answers 200 within `timeout`, 1 otherwise (the reason on stderr).
// An empty or wildcard host (":9090", "0.0.0.0:9090", "[::]:9090") asks the loopback address.
int run_healthcheck(const std::string& stats_addr, std::chrono::milliseconds timeout);

}  // namespace mg::cmd
