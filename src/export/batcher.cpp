#include "export/batcher.h"

#include <exception>
#include <string>

#include "export/lane_payloads.h"
#include "logging/log.h"
#include "protocol/compression.h"
#include "protocol/remote_write.h"
#include "protocol/snappy_concat.h"

namespace mg::exporter {

namespace {

// How often the batcher reconsiders the shard count: often enough that a backlog building behind
// a distant backend is answered before it is large (what waits behind a reshard's barrier drains
// through the old lanes).
constexpr auto k_scaler_tick = std::chrono::milliseconds(100);

std::int64_t ms(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Remote write in wire encoding: each run of plain payloads compressed once, forwarded snappy
// bodies joined as they are (snappy_concat.h): no body is decompressed or compressed twice.
protocol::decode_status merge_snappy(std::vector<payload>& items, payload& out) {
    out = payload{};
    out.format = payload_format::prw_v1;
    out.compressed = true;
    out.tenant = items.front().tenant;    // the queue batches one tenant's payloads only
    std::vector<std::string> compressed;  // the plain runs, compressed
    std::vector<std::pair<bool, std::size_t>> order;  // (one of `compressed`, index)
    std::string run;
    const auto end_run = [&] {
        if (run.empty()) return;
        order.emplace_back(true, compressed.size());
        protocol::snappy_encode(run, compressed.emplace_back());
        run.clear();
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& p = items[i];
        out.series += p.series;
        out.points += p.points;
        if (p.compressed) {
            end_run();
            order.emplace_back(false, i);
        } else {
            run += p.body;
        }
    }
    end_run();
    std::vector<protocol::bytes_view> blocks;
    blocks.reserve(order.size());
    for (const auto& [own, i] : order) blocks.emplace_back(own ? compressed[i] : items[i].body);
    return protocol::snappy_concat(blocks, out.body);
}

// One payload of a batch: bodies concatenated (both messages are only repeated fields);
// with `compress` remote write is joined in wire encoding (merge_snappy); otherwise forwarded
// bodies merged because of a backlog are decompressed first (the result is compressed once, by
// to_wire).
protocol::decode_status merge(std::vector<payload>& items, payload& out, bool compress) {
    if (items.size() == 1) {
        out = std::move(items.front());
        return {};
    }
    if (compress && items.front().format == payload_format::prw_v1) return merge_snappy(items, out);
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

batcher::batcher(settings s, export_queue& queue, lane_epochs& epochs, delivery& out,
                 export_metrics& metrics, const std::atomic<bool>& closed)
    : settings_(s),
      queue_(queue),
      epochs_(epochs),
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
            if (auto st = merge(b.items, body, settings_.compress); !st) {
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
    metrics_.set_lane_map_series(epochs_.mapped_series());
    if (closed_.load(std::memory_order_acquire)) return;
    if (want == now_shards) {
        // A full lane map sends new series by hash (requests split again): a fresh one, once
        // the old epoch is delivered. The backlog is not split again (that is the CPU affinity
        // saves); it drains through its old lanes before the new epoch's first batch.
        if (now_shards > 1 && epochs_.map_full()) {
            logging::info("export lane map full: new epoch with the same shards",
                          {{"series", epochs_.mapped_series()}, {"shards", now_shards}});
            metrics_.lane_map_renewed();
            epochs_.renew();
        }
        return;
    }
    // Counted first: whoever sees the new count sees the change counted too.
    metrics_.resharded(now_shards, want);
    epochs_.advance(want);
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

// After a reshard: what waits in the old lanes is split over the new ones by the new epoch's lane
// map, so the backlog is sent with the new concurrency and only the batches in flight hold the
// barrier. Remote write 1.0 is decoded for its series' lanes; a payload whose series all take
// one lane (a sender's request) moves there whole, as it is, others are re-encoded per lane. A
// payload of the disk queue that would be cut (its record is acknowledged whole) or of another
// format goes back to its old lane unchanged.
// Without it the new lanes would wait behind the barrier until the old ones had drained the
// backlog alone: a flood that filled the queue before the scaler reacted would see no gain.
void batcher::resplit() {
    const auto started = std::chrono::steady_clock::now();
    auto taken = queue_.take_waiting();
    if (taken.empty()) return;
    // The new epoch's map: the backlog's series get their lanes before anything the senders
    // queue in this epoch (put_resplit places the pieces first), and keep them.
    const auto ticket = epochs_.enter();
    auto& lanes = thread_lane_split();
    lane_payloads split;
    std::vector<bool> was_split(taken.size(), false);
    // Whole payloads: (taken, its place in `split`), filled in once the budget allows: `split`
    // keeps the backlog's order, which put_resplit keeps within each lane.
    std::vector<std::pair<std::size_t, std::size_t>> moves;
    std::vector<std::pair<lane_ref, std::uint64_t>> sources;
    std::uint64_t old_cost = 0;
    std::uint64_t new_cost = 0;
    protocol::series_batch batch;
    std::string plain;
    std::vector<std::uint8_t> keep;
    for (std::size_t i = 0; i < taken.size(); ++i) {
        const auto& t = taken[i];
        bool ok = t.p.format == payload_format::prw_v1;
        protocol::bytes_view body(t.p.body.data(), t.p.body.size());
        if (ok && t.p.compressed) {
            ok = protocol::snappy_decode(body, std::size_t{1} << 30, plain).ok();
            body = protocol::bytes_view(plain.data(), plain.size());
        }
        ok = ok && protocol::decode_remote_write_v1(body, batch).ok();
        if (!ok) continue;
        keep.assign(batch.size(), 1);
        lanes.split(batch, keep, ticket.lanes());
        if (lanes.used().size() == 1) {
            // Every series on one lane (a sender's stable request): the payload moves whole, as
            // it is (compressed or not, its disk record acknowledged whole as before).
            moves.emplace_back(i, split.size());
            split.emplace_back(payload{}, lane_ref{lanes.used().front(), lanes.epoch()});
            was_split[i] = true;
            sources.emplace_back(t.where, t.p.cost());
            old_cost += t.p.cost();
            new_cost += t.p.cost();
            continue;
        }
        // A payload of the disk queue is acknowledged whole: it is not cut into pieces.
        lane_payloads parts;
        if (t.p.disk_id != 0 || !encode_prw(batch, keep, {}, lanes, parts).ok()) continue;
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
    // Pieces are plain protobuf: a forwarded (snappy) body grows by its compression ratio. When
    // that would take the queue past its byte budget, everything goes back as it was (the budget
    // bounds memory, not only admissions).
    if (new_cost > old_cost && queue_.bytes() + (new_cost - old_cost) > queue_.max_bytes()) {
        logging::debug(
            "export backlog left in the old lanes: its pieces would pass the queue budget",
            {{"payloads", taken.size()},
             {"growth_bytes", new_cost - old_cost},
             {"queue_bytes", queue_.bytes()}});
        queue_.put_resplit({}, std::move(taken), {});
        return;
    }
    for (const auto& [i, at] : moves) split[at].first = std::move(taken[i].p);
    std::vector<export_queue::taken_payload> unchanged;
    for (std::size_t i = 0; i < taken.size(); ++i) {
        if (!was_split[i]) unchanged.push_back(std::move(taken[i]));
    }
    logging::debug("export backlog split over the new shards",
                   {{"payloads", sources.size()},
                    {"into", split.size()},
                    {"whole", moves.size()},
                    {"unchanged", unchanged.size()},
                    {"ms", ms(std::chrono::steady_clock::now() - started)}});
    queue_.put_resplit(std::move(split), std::move(unchanged), sources);
    metrics_.set_queue_bytes(queue_.bytes());
}

}  // namespace mg::exporter
