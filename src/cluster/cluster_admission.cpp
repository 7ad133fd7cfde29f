// The governor's cluster port over the Redis admission store (cluster_admission.h).
#include "cluster/cluster_admission.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "logging/log.h"

namespace mg::cluster {

// The store's codes and the governor's verdicts are the same four, in the same order.
static_assert(static_cast<int>(admit_code::over_limit) ==
              static_cast<int>(limits::cluster_verdict::over_limit));
static_assert(static_cast<int>(admit_code::admitted) ==
              static_cast<int>(limits::cluster_verdict::admitted));

cluster_admission::cluster_admission(std::shared_ptr<admission_store> store, mg::clock& clock,
                                     prometheus::Registry* registry, std::string policy_name)
    : store_(std::move(store)), clock_(clock), policy_name_(std::move(policy_name)) {
    if (registry == nullptr) return;
    auto& requests = prometheus::BuildCounter()
                         .Name("metrics_governor_cluster_requests_total")
                         .Help(
                             "Cluster mode: admission calls to Redis (one per tracker and "
                             "request), by result: ok, timeout, unreachable, error.")
                         .Register(*registry);
    const char* names[] = {"ok", "timeout", "unreachable", "error"};
    for (int i = 0; i < 4; ++i) results_[i] = &requests.Add({{"result", names[i]}});
    duration_ =
        &prometheus::BuildHistogram()
             .Name("metrics_governor_cluster_request_duration_seconds")
             .Help(
                 "Cluster mode: time from asking Redis about a request's new series to "
                 "the last answer (or the deadline).")
             .Register(*registry)
             .Add({}, prometheus::Histogram::BucketBoundaries{0.0002, 0.0005, 0.001, 0.002, 0.005,
                                                              0.01, 0.025, 0.05, 0.1, 0.25});
    up_gauge_ = &prometheus::BuildGauge()
                     .Name("metrics_governor_cluster_up")
                     .Help(
                         "Cluster mode: 1 while Redis answers admission calls, 0 after a "
                         "failed one (the failure policy decides meanwhile).")
                     .Register(*registry)
                     .Add({});
    up_gauge_->Set(1);
}

cluster_admission::outcome cluster_admission::classify(const std::string& message) {
    if (message == admission_store::k_timeout_message) return outcome::timeout;
    if (message.rfind(admission_store::k_error_prefix, 0) == 0) return outcome::error;
    return outcome::unreachable;
}

void cluster_admission::note(outcome o, const std::string& message) {
    if (results_[0] != nullptr) results_[static_cast<int>(o)]->Increment();
    const bool ok = o == outcome::ok;
    if (up_.exchange(ok, std::memory_order_relaxed) == ok) return;
    if (up_gauge_ != nullptr) up_gauge_->Set(ok ? 1 : 0);
    if (ok) {
        logging::info("cluster: redis answers again; shared limits decide new series");
    } else {
        logging::warn("cluster: redis did not answer; the failure policy decides new series",
                      {{"error", message}, {"failure_policy", policy_name_}});
    }
}

void cluster_admission::admit(std::vector<limits::cluster_query> queries, callback done) {
    struct join {
        std::vector<limits::cluster_answer> answers;
        std::size_t remaining = 0;
        callback done;
        std::chrono::steady_clock::time_point t0;
    };
    auto j = std::make_shared<join>();
    j->answers.resize(queries.size());
    j->remaining = queries.size();
    j->done = std::move(done);
    j->t0 = std::chrono::steady_clock::now();
    if (queries.empty()) {
        j->done({});
        return;
    }
    const auto now = clock_.wall_now();
    for (std::size_t i = 0; i < queries.size(); ++i) {
        auto& q = queries[i];
        // The callbacks all run on the store's strand: the join needs no lock.
        store_->admit(
            q.tracker, static_cast<std::int64_t>(q.limit), q.ids, now,
            [this, j, i](result<admit_reply> r) {
                auto& a = j->answers[i];
                if (r) {
                    a.ok = true;
                    a.live_total = r->live_total;
                    a.verdicts.reserve(r->codes.size());
                    for (const auto c : r->codes)
                        a.verdicts.push_back(static_cast<limits::cluster_verdict>(c));
                    note(outcome::ok, {});
                } else {
                    note(classify(r.error_message()), r.error_message());
                }
                if (--j->remaining != 0) return;
                if (duration_ != nullptr) {
                    duration_->Observe(
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - j->t0)
                            .count());
                }
                j->done(std::move(j->answers));
            },
            q.enforce);
    }
}

result<std::shared_ptr<cluster_admission>> make_cluster_admission(boost::asio::io_context& ioc,
                                                                  const cluster_options& o,
                                                                  mg::clock& clock,
                                                                  prometheus::Registry* registry) {
    auto strand = boost::asio::make_strand(ioc);
    auto client = make_redis_client(strand, o.client);
    if (!client) return make_error(client.error_message());
    auto store = std::make_shared<admission_store>(*client, strand, o.admission);
    return std::make_shared<cluster_admission>(std::move(store), clock, registry,
                                               std::string(limits::policy_name(o.policy)));
}

}  // namespace mg::cluster
