// remote_write_client: what the integration tests need to speak remote write 1.0 to the daemon
// and to read what a fake backend received (header-only; built on the protocol module).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/remote_write_builder.h"
#include "support/fake_backend.h"

namespace mg::test {

inline const std::map<std::string, std::string> k_prw_headers{
    {"Content-Type", "application/x-protobuf"},
    {"Content-Encoding", "snappy"},
    {"X-Prometheus-Remote-Write-Version", "0.1.0"}};

// A snappy-compressed WriteRequest holding `ts`.
inline std::string prw_body(const std::vector<protocol::owned_timeseries>& ts) {
    std::string raw, compressed;
    protocol::encode_remote_write_v1(ts, {}, raw);
    protocol::snappy_encode(raw, compressed);
    return compressed;
}

// "metric/id" (the value of label "id") of every series in one snappy remote-write body, in order
// and with repeats; empty when the body does not decode.
inline std::vector<std::string> series_ids(const std::string& snappy_body) {
    std::vector<std::string> out;
    std::string raw;
    if (!protocol::snappy_decode(snappy_body, 1 << 28, raw)) return out;
    protocol::series_batch b;
    if (!protocol::decode_remote_write_v1(raw, b)) return out;
    for (std::size_t i = 0; i < b.size(); ++i) {
        const auto v = b[i];
        for (const auto& l : v.labels)
            if (l.name == "id")
                out.push_back(std::string(v.metric_name) + "/" + std::string(l.value));
    }
    return out;
}

// The values of label "id" of every series of `metric` the backend received, over all requests.
inline std::set<std::string> received_ids(const std::vector<recorded_request>& reqs,
                                          const std::string& metric) {
    std::set<std::string> ids;
    const std::string prefix = metric + "/";
    for (const auto& r : reqs) {
        for (const auto& s : series_ids(r.body))
            if (s.compare(0, prefix.size(), prefix) == 0) ids.insert(s.substr(prefix.size()));
    }
    return ids;
}

}  // namespace mg::test
