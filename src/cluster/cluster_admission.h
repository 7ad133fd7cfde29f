// cluster_admission: the governor's cluster port (limits/cluster_port.h) over the Redis admission
// store. One admit() of the governor becomes one EVALSHA per tracker, all pipelined on the one
// connection, and one answer when the last of them is back (or failed, or timed out).
//
// Visible state: metrics_governor_cluster_requests_total{result} (per tracker call: ok, timeout,
// unreachable, error), metrics_governor_cluster_request_duration_seconds (one governor round
// trip), metrics_governor_cluster_up (1 while Redis answers), and one log line per change of
// state, never one per request.
//
// Thread-safety: admit() may be called from any thread; the store's callbacks run on its strand,
// where the joins are counted, so they need no lock. The governor's callback runs there too.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>

#include "cluster/admission_store.h"
#include "cluster/cluster_options.h"
#include "common/clock.h"
#include "limits/cluster_port.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace mg::cluster {

class cluster_admission final : public limits::cluster_port {
  public:
    // `registry` may be null (tests). The clock gives wall time (the periods) and must outlive
    // this object.
    cluster_admission(std::shared_ptr<admission_store> store, mg::clock& clock,
                      prometheus::Registry* registry, std::string policy_name);
    void admit(std::vector<limits::cluster_query> queries, callback done) override;
    bool up() const { return up_.load(std::memory_order_relaxed); }

  private:
    enum class outcome : std::uint8_t { ok, timeout, unreachable, error };
    static outcome classify(const std::string& message);
    void note(outcome o, const std::string& message);

    std::shared_ptr<admission_store> store_;
    mg::clock& clock_;
    std::string policy_name_;
    std::atomic<bool> up_{true};  // until shown otherwise: the first failure is logged
    std::atomic<bool> logged_down_{false};
    prometheus::Counter* results_[4] = {};
    prometheus::Histogram* duration_ = nullptr;
    prometheus::Gauge* up_gauge_ = nullptr;
};

// The client of cluster mode on `ioc`: the connection to Redis (on its own strand), the admission
// store and the port the governor is handed. Connects on first use. A bad address is an error.
result<std::shared_ptr<cluster_admission>> make_cluster_admission(boost::asio::io_context& ioc,
                                                                  const cluster_options& o,
                                                                  mg::clock& clock,
                                                                  prometheus::Registry* registry);

}  // namespace mg::cluster
