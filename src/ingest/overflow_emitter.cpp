// The overflow series to the exporter (see overflow_emitter.h).
#include "ingest/overflow_emitter.h"

#include <chrono>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "logging/log.h"
#include "protocol/otlp.h"
#include "protocol/owned_series_encode.h"
#include "protocol/remote_write.h"

namespace mg::ingest {

namespace {

constexpr auto k_tick = std::chrono::seconds(1);

}  // namespace

overflow_emitter::overflow_emitter(overflow::overflow_store& store, exporter_port& exporter,
                                   mg::clock& clock)
    : store_(store), exporter_(exporter), clock_(clock) {}

overflow_emitter::~overflow_emitter() {
    stop();
}

void overflow_emitter::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void overflow_emitter::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void overflow_emitter::run() {
    auto next = clock_.deadline_after(k_tick);
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (clock_.wait_until(lock, cv_, next, [this] { return stopping_; })) break;
        }
        next = clock_.deadline_after(k_tick);
        try {
            emit_due();
        } catch (const std::exception& e) {
            // A background thread never dies silently: logged, and the next tick tries again.
            logging::error("overflow emission failed", {{"error", e.what()}});
        }
    }
    try {
        emit_due(true);
    } catch (const std::exception& e) {
        logging::error("overflow emission failed", {{"error", e.what()}});
    }
}

std::size_t overflow_emitter::emit_due(bool all) {
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall_now().time_since_epoch())
            .count();
    // By tenant: a payload carries one tenant. And by protocol: what was folded from OTLP goes
    // to a remote-write exporter as OTLP, so the exporter converts it as it converts the senders'
    // own (names with their suffixes, e.g. a monotonic Sum's _total, label names sanitized,
    // native histograms only when enabled; a delta Sum as the cumulative counter of its deltas),
    // and the overflow series lands beside the series it stands for; the rest as remote write.
    std::map<std::pair<std::string, bool>, std::vector<overflow::emitted_series>> due;
    const bool prw = exporter_.check_source(protocol::source_protocol::remote_write_v1).ok();
    store_.collect(
        now_ms,
        [&](overflow::emitted_series&& s) {
            const bool as_otlp = prw && s.from_otlp;
            auto& v = due[{s.tenant, as_otlp}];
            v.push_back(std::move(s));
        },
        all);
    if (due.empty()) return 0;
    std::size_t sent = 0;
    std::string body;
    protocol::series_batch batch;
    std::vector<protocol::owned_series> owned;
    std::vector<std::uint8_t> keep;
    for (auto& [key, series] : due) {
        const auto& tenant = key.first;
        const bool rw = prw && !key.second;
        const bool otlp =
            !rw && exporter_.check_source(protocol::source_protocol::otlp_protobuf).ok();
        if (!rw && !otlp) {
            store_.count_refused(series.size());
            continue;
        }
        owned.clear();
        // The overflow module knows no protocol: its samples are copied into the encoder's type.
        std::vector<std::vector<protocol::float_sample>> samples(series.size());
        for (std::size_t i = 0; i < series.size(); ++i) {
            const auto& s = series[i];
            protocol::owned_series o{
                s.metric_name, s.labels, s.kind == overflow::fold_kind::counter, {}};
            if (!prw && s.delta) {
                // A delta Sum to an OTLP backend: the folded deltas summed over the interval, one
                // point; a new counter's 0 says nothing as a delta.
                if (s.interval_start_ms == INT64_MIN) continue;
                samples[i].push_back({s.interval_sum, s.samples.back().timestamp_ms});
                o.delta = true;
                o.start_ms = s.interval_start_ms;
            } else {
                for (const auto& p : s.samples) samples[i].push_back({p.value, p.timestamp_ms});
            }
            o.samples = samples[i];
            // One type on both sides: no copy.
            o.histograms = s.histograms;
            o.explicit_histograms = s.explicit_histograms;
            o.summary = s.kind == overflow::fold_kind::summary;
            o.unit = s.unit;
            owned.push_back(o);
        }
        if (owned.empty()) continue;
        body.clear();
        if (rw) {
            protocol::encode_owned_remote_write_v1(owned, body);
        } else {
            protocol::encode_owned_otlp(owned, body);
        }
        const auto st = rw ? protocol::decode_remote_write_v1(body, batch)
                           : protocol::decode_otlp_protobuf(body, batch);
        if (!st.ok()) {
            logging::error("overflow series could not be encoded", {{"error", st.error_message()}});
            store_.count_refused(owned.size());
            continue;
        }
        keep.assign(batch.size(), 1);
        const std::string_view names[] = {tenant};
        exporter::tenant_split split;
        if (!tenant.empty()) split.names = names;
        exporter::submit_details details;
        const auto res = exporter_.submit(batch, keep, {}, details, nullptr, split);
        if (res == exporter::submit_status::accepted) {
            sent += owned.size();
            store_.count_emitted(owned.size());
        } else {
            store_.count_refused(owned.size());
        }
    }
    return sent;
}

}  // namespace mg::ingest
