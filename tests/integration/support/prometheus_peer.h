// prometheus_peer and waiting helpers shared by the end-to-end tests: one Debian `prometheus`
// started by the test on 127.0.0.1 (port 0, its own data directory, killed with the test), and
// the polling the tests use only for data that reaches a peer asynchronously.
// Not thread-safe: one test owns each object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/temp_dir.h"
#include "support/http_client.h"
#include "support/process.h"

namespace mg::test {

// Reads whatever a child printed so far (waiting at most 10 ms), so that a chatty peer never
// blocks on a full pipe.
void drain(child_process& p);

// `s` percent-encoded for a URL's query (unreserved characters kept), e.g. a PromQL query.
std::string url_encode(const std::string& s);

// GET on a fresh connection; nothing when the connection is refused or reset (not up yet).
std::optional<http_reply> try_get(unsigned short port, const std::string& target);

// Polls `pred` until it holds or `timeout` passed (200 ms between tries), draining the children's
// logs in between. Used only for data that reaches a peer asynchronously.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                const std::vector<child_process*>& logs);

// label value -> value of an instant PromQL query's results (those without `label` under ""); empty
// when the query fails or Prometheus is not up. For polling with eventually().
std::map<std::string, double> query_by_label(unsigned short port, const std::string& query,
                                             const std::string& label);

// The wall clock in Unix milliseconds: sample timestamps a backend accepts as recent.
std::int64_t unix_now_ms();

// One Prometheus server: its own data dir and config file, 127.0.0.1, port 0 unless given.
// Waits for its readiness; a failure to start fails the test with its output. `data_dir`, when
// given, is the TSDB directory instead of one of its own (owned by the caller), so that a second
// server can start on the first one's data (a backend restarted after an outage).
class prometheus_peer {
  public:
    prometheus_peer(const std::string& role, const std::string& config,
                    std::vector<std::string> extra, unsigned short port = 0,
                    const std::string& data_dir = {});
    unsigned short port() const { return port_; }
    child_process& process() { return *proc_; }

  private:
    std::string role_;
    temp_dir dir_;  // declared before proc_: removed after the process was killed
    std::unique_ptr<child_process> proc_;
    unsigned short port_ = 0;
};

}  // namespace mg::test
