// cluster_port: what the governor needs from cluster mode (docs/cluster.md), as an interface so
// the limits module knows nothing of Redis and its tests run against a fake. The cluster module
// implements it over the Redis admission store (cluster/cluster_admission.h).
//
// One call of admit() carries every cluster query of one request phase: per enforcing tracker
// (a metric's own, or a metric's label limit), the identities this replica has not seen in the
// window. The answer comes once, from any thread, with one cluster_answer per query in order;
// a failed query (Redis unreachable, an error reply, no answer by the deadline) has ok == false
// and the governor's failure policy decides for its series.
//
// Thread-safety: admit() is called from any I/O thread at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mg::limits {

// What the governor does with a locally-new series when Redis did not answer.
enum class cluster_failure_policy : std::uint8_t {
    local,   // this replica's own trackers and limits decide, as in one process
    open,    // admit
    closed,  // drop (known series still pass)
};
std::string_view policy_name(cluster_failure_policy p);

enum class cluster_verdict : std::uint8_t { known, refreshed, admitted, over_limit };

struct cluster_query {
    // The tracker's name: the metric name, or the metric name, '\x1f' and the label name of a
    // label limit (no metric or label name contains the unit separator).
    std::string tracker;
    std::uint64_t limit = 0;  // the tracker's limit (it also sizes the shared filter)
    bool enforce = true;      // false: record every identity, refuse none (write-back)
    std::vector<std::uint64_t> ids;
};

struct cluster_answer {
    bool ok = false;
    std::vector<cluster_verdict> verdicts;  // one per id when ok
    std::int64_t live_total = 0;            // the tracker's distinct live series, cluster-wide
};

class cluster_port {
  public:
    using callback = std::function<void(std::vector<cluster_answer>)>;
    virtual ~cluster_port() = default;
    virtual void admit(std::vector<cluster_query> queries, callback done) = 0;
};

// The tracker name of a non-default tenant's tracker: "\x1e", the escaped tenant
// (limits/tenant_escape.h), "\x1e", then the name the default tenant's tracker would have.
// The default tenant ("") keeps that name unchanged.
std::string tenant_tracker_name(std::string_view tenant, std::string name);

// The tracker name of a label limit.
inline std::string label_tracker_name(std::string_view metric, std::string_view label) {
    std::string s(metric);
    s += '\x1f';
    s += label;
    return s;
}

}  // namespace mg::limits
