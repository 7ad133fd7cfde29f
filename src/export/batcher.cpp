#include "export/batcher.h"

#include <exception>
#include <string>

#include "export/lane_payloads.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"

namespace mg::exporter {

namespace {

// How often the batcher reconsiders the shard count: often enough that a backlog building behind
// a distant backend is answered before it is large (what waits behind a reshard's barrier drains
// through the old lanes).
constexpr auto k_scaler_tick = std::chrono::milliseconds(100);

std::int64_t ms(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// One payload of a batch: bodies concatenated (both messages are only repeated fields);
// forwarded bodies merged because of a backlog are decompressed first (the result is compressed
// once, by to_wire).
protocol::decode_status merge(std::vector<payload>& items, payload& out) {
    if (items.size() == 1) {
        out = std::move(items.front());
        return {};
    }
    out = payload{};
    out.format = items.front().format;
    out.tenant = items.front().tenant;  // the queue batches one tenant's payloads only
    std::size_t size = 0;
    for (const auto& p : items)
        size += p.compressed ? protocol::uncompressed_size_hint(p.body) : p.body.size();
    out.body.reserve(size);  // one allocation: no copy of what is already merged
    thread_local std::string plain;
    for (const auto& p : items) {
        if (p.compressed) {
            // Was decoded on ingest within its limit.
            constexpr std::size_t k_max = std::size_t{1} << 30;
            const auto st = p.format == payload_format::prw_v1
                                ? protocol::snappy_decode(p.body, k_max, plain)
                                : protocol::gzip_decode(p.body, k_max, plain);
            if (!st) return st;
            out.body += plain;
        } else {
            out.body += p.body;
        }
        out.series += p.series;
        out.points += p.points;
    }
    return {};
}

}  // namespace

batcher::batcher(settings s, export_queue& queue, delivery& out, export_metrics& metrics,
                 const std::atomic<bool>& closed)
    : settings_(s),
      queue_(queue),
      delivery_(out),
      metrics_(metrics),
      closed_(closed),
      scaler_(s.scaler) {}

batcher::~batcher() = default;

void batcher::start() {
    thread_ = std::thread([this] { run(); });
}

void batcher::join() {
    if (thread_.joinable()) thread_.join();
}

// Takes ready batches lane by lane (a lane has one in flight) and, once a tick, lets the scaler
// change the shard count.
void batcher::run() {
    auto next_tick = std::chrono::steady_clock::now() + k_scaler_tick;
    for (;;) {
        try {
            taken_batch b;
            const auto r =
                queue_.next_batch(b, settings_.batch_size, settings_.flush_interval, next_tick);
            if (r == export_queue::wait_result::closed) return;
            if (std::chrono::steady_clock::now() >= next_tick) {
                rescale();
                next_tick = std::chrono::steady_clock::now() + k_scaler_tick;
            }
            if (r == export_queue::wait_result::timeout) continue;
            outgoing_batch out;
            out.bytes = b.bytes;
            out.where = b.where;
            out.payloads = b.items.size();
            for (const auto& p : b.items) {
                if (p.disk_id != 0) out.disk_ids.push_back(p.disk_id);
            }
            payload body;
            if (auto st = merge(b.items, body); !st) {
                // A forwarded body that no longer decompresses (it did on ingest): a bug.
                metrics_.error("encode");
                logging::error("exporter: cannot merge a batch", {{"error", st.error_message()}});
                for (const auto& p : b.items) metrics_.dropped(p.series, p.points, "encode");
            } else if (st = settings_.compress ? to_wire(body) : protocol::decode_status{}; !st) {
                metrics_.error("encode");
                logging::error("exporter: cannot compress a batch",
                               {{"error", st.error_message()}});
                metrics_.dropped(body.series, body.points, "encode");
            } else {
                out.body = std::move(body);
            }
            delivery_.start(std::move(out));
        } catch (const std::exception& e) {
            metrics_.error("internal");
            logging::error("exporter batcher: unexpected exception", {{"error", e.what()}});
        }
    }
}

void batcher::rescale() {
    const auto now_shards = queue_.shards().shards;
    const auto want = scaler_.on_tick(now_shards, queue_.usage(), std::chrono::steady_clock::now());
    queue_.set_merge_forwarded(scaler_.latency_bound());
    if (want == now_shards || closed_.load(std::memory_order_acquire)) return;
    // Counted first: whoever sees the new count sees the change counted too.
    metrics_.resharded(now_shards, want);
    queue_.set_shards(want);
    resplit();
    const auto why = scaler_.last_reason();
    logging::info(
        "export shards changed",
        {{"from", now_shards},
         {"to", want},
         {"reason", why == scale_reason::up        ? "lanes busy, data waiting, long round trips"
                    : why == scale_reason::no_gain ? "the last increase did not deliver more"
                                                   : "lanes idle"},
         {"utilization", scaler_.last_utilization()},
         {"round_trip_ms", ms(scaler_.round_trip())},
         {"queue_bytes", queue_.bytes()}});
}

// After a reshard: what waits in the old lanes is split over the new ones (remote write 1.0 is
// decoded and re-encoded per lane), so the backlog is sent with the new concurrency and only the
// batches in flight hold the barrier. A payload of the disk queue (its record is acknowledged
// whole) or of another format goes back to its old lane unchanged.
// Without it the new lanes would wait behind the barrier until the old ones had drained the
// backlog alone: a flood that filled the queue before the scaler reacted would see no gain.
void batcher::resplit() {
    const auto started = std::chrono::steady_clock::now();
    auto taken = queue_.take_waiting();
    if (taken.empty()) return;
    // The pieces are plain protobuf: a forwarded (snappy) body grows by its compression ratio,
    // which is large for remote write. When that would take the queue past its byte budget,
    // everything goes back as it was (the budget bounds memory, not only admissions).
    std::uint64_t growth = 0;
    for (const auto& t : taken) {
        if (!t.p.compressed || t.p.format != payload_format::prw_v1 || t.p.disk_id != 0) continue;
        const auto plain_size = protocol::uncompressed_size_hint(t.p.body);
        growth += plain_size > t.p.body.size() ? plain_size - t.p.body.size() : 0;
    }
    if (queue_.bytes() + growth > queue_.max_bytes()) {
        logging::debug("export backlog left in the old lanes: split it would pass the queue budget",
                       {{"payloads", taken.size()},
                        {"growth_bytes", growth},
                        {"queue_bytes", queue_.bytes()}});
        queue_.put_resplit({}, std::move(taken), {});
        return;
    }
    const shard_state sh = queue_.shards();
    lane_payloads split;
    std::vector<bool> was_split(taken.size(), false);
    std::vector<std::pair<lane_ref, std::uint64_t>> sources;
    std::uint64_t old_cost = 0;
    std::uint64_t new_cost = 0;
    protocol::series_batch batch;
    std::string plain;
    std::vector<std::uint8_t> keep;
    for (std::size_t i = 0; i < taken.size(); ++i) {
        const auto& t = taken[i];
        bool ok = t.p.format == payload_format::prw_v1 && t.p.disk_id == 0;
        protocol::bytes_view body(t.p.body.data(), t.p.body.size());
        if (ok && t.p.compressed) {
            ok = protocol::snappy_decode(body, std::size_t{1} << 30, plain).ok();
            body = protocol::bytes_view(plain.data(), plain.size());
        }
        ok = ok && protocol::decode_remote_write_v1(body, batch).ok();
        lane_payloads parts;
        if (ok) {
            keep.assign(batch.size(), 1);
            ok = encode_prw(batch, keep, {}, sh, parts).ok();
        }
        if (!ok) continue;
        was_split[i] = true;
        sources.emplace_back(t.where, t.p.cost());
        old_cost += t.p.cost();
        const bool prompt = t.p.prompt || t.p.compressed;  // a forwarded body was prompt
        for (auto& part : parts) {
            part.first.prompt = prompt;
            part.first.tenant = t.p.tenant;
            new_cost += part.first.cost();
            split.push_back(std::move(part));
        }
    }
    // The estimate above leaves out each piece's own overhead: the pieces as they are decide.
    if (new_cost > old_cost && queue_.bytes() + (new_cost - old_cost) > queue_.max_bytes()) {
        logging::debug(
            "export backlog left in the old lanes: its pieces would pass the queue budget",
            {{"payloads", taken.size()},
             {"growth_bytes", new_cost - old_cost},
             {"queue_bytes", queue_.bytes()}});
        queue_.put_resplit({}, std::move(taken), {});
        return;
    }
    std::vector<export_queue::taken_payload> unchanged;
    for (std::size_t i = 0; i < taken.size(); ++i) {
        if (!was_split[i]) unchanged.push_back(std::move(taken[i]));
    }
    logging::debug("export backlog split over the new shards",
                   {{"payloads", sources.size()},
                    {"into", split.size()},
                    {"unchanged", unchanged.size()},
                    {"ms", ms(std::chrono::steady_clock::now() - started)}});
    queue_.put_resplit(std::move(split), std::move(unchanged), sources);
    metrics_.set_queue_bytes(queue_.bytes());
}

}  // namespace mg::exporter
