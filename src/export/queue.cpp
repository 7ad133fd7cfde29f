// The export queue's lanes, epochs and byte budget (see queue.h).
#include "export/queue.h"

#include <algorithm>

namespace mg::exporter {

namespace {

using steady = std::chrono::steady_clock;

// Payloads waiting in one lane from which forwarded (compressed) bodies are merged: a few are the
// normal overlap of senders with a near backend (sent as they came, no recompression); more mean
// the round trip is the bottleneck.
constexpr std::size_t k_merge_raw_backlog = 8;

// Forwarded remote-write bodies joined into one upstream request with a near backend (what
// lingered in a free lane, or queued behind a busy one): at most this many. Each upstream
// request costs a write, a read, an answer to parse and thread wake-ups, about as much CPU as the
// governor's own work on a 500-series body, so sending eight together cuts the export's share by
// nearly as much; the bound keeps such a request short, so its round trip does not look long to
// the shard scaler, which would read that as a distant backend.
constexpr std::size_t k_near_merge_forwarded = 8;

constexpr std::uint64_t pack(std::uint64_t epoch, std::uint32_t shards) {
    return epoch << 16 | shards;
}

}  // namespace

// Epoch 1 at start: epoch 0 is for what the disk queue replays, which goes before anything new.
export_queue::export_queue(mg::clock& clock, std::uint64_t max_bytes, std::uint32_t max_lanes,
                           std::uint32_t shards)
    : clock_(clock),
      max_bytes_(max_bytes),
      lanes_(std::max<std::uint32_t>(1, max_lanes)),
      shard_word_(
          pack(1, std::clamp<std::uint32_t>(shards, 1, std::max<std::uint32_t>(1, max_lanes)))) {}

bool export_queue::try_push(payload& p, lane_ref where, bool ignore_budget) {
    std::vector<std::pair<payload, lane_ref>> one;
    one.emplace_back(std::move(p), where);
    // A payload of any size goes in when the budget is ignored: as if it had been reserved.
    std::uint64_t reserved = ignore_budget ? one.front().first.cost() : 0;
    if (ignore_budget) {
        std::lock_guard lock(mu_);
        if (closed_) {
            p = std::move(one.front().first);
            return false;
        }
        bytes_ += reserved;
    }
    if (try_push_group(one, reserved)) return true;
    p = std::move(one.front().first);  // untouched on failure
    return false;
}

bool export_queue::try_push_group(std::vector<std::pair<payload, lane_ref>>& items,
                                  std::uint64_t& reserved) {
    std::uint64_t cost = 0;
    for (const auto& [p, where] : items) cost += p.cost();
    bool wake = false;
    {
        std::lock_guard lock(mu_);
        const std::uint64_t from_reserve = std::min(cost, reserved);
        if (from_reserve == 0) {
            if (closed_) return false;
            if (bytes_ + cost > max_bytes_ && bytes_ != 0) return false;
        }
        // Reserved bytes are already in bytes_: only the excess is added.
        bytes_ += cost - from_reserve;
        bytes_in_ += cost;
        reserved -= from_reserve;
        const auto now = clock_.monotonic_now();
        for (auto& [p, where] : items) {
            ++pending_[where.epoch];
            enqueue_locked(where.lane, entry{std::move(p), where.epoch, now});
        }
        wake = wakes_batcher_locked(items, now);
    }
    if (wake) items_cv_.notify_all();
    return true;
}

// The batcher is woken only when the push changed what it waits for: a lane's run is ready now,
// or due before the batcher's wake-up. A payload behind a batch in flight cannot start before
// that batch's release(), which wakes the batcher anyway, and one that joins a run already due
// changes nothing: waking for those would cost a context switch per request (with a near
// backend nearly every push) for nothing. A batcher that is not waiting examines every lane
// before it waits again.
bool export_queue::wakes_batcher_locked(const std::vector<std::pair<payload, lane_ref>>& items,
                                        steady::time_point now) const {
    if (!sleeper_.waiting || pending_.empty()) return false;
    const std::uint64_t oldest_epoch = pending_.begin()->first;
    for (const auto& [p, where] : items) {
        const lane_run r = examine_locked(lane_for(where.lane), oldest_epoch, now,
                                          sleeper_.batch_size, sleeper_.flush_interval);
        if (r.take != 0 && (r.ready || r.due < sleeper_.until)) return true;
    }
    return false;
}

bool export_queue::try_reserve(std::uint64_t bytes) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (bytes_ + bytes > max_bytes_ && bytes_ != 0) return false;
    bytes_ += bytes;
    return true;
}

void export_queue::unreserve(std::uint64_t bytes) {
    bool empty = false;
    {
        std::lock_guard lock(mu_);
        bytes_ -= std::min(bytes, bytes_);
        empty = bytes_ == 0;
    }
    if (empty) empty_cv_.notify_all();
}

export_queue::wait_result export_queue::next_batch(taken_batch& out, std::uint64_t batch_size,
                                                   std::chrono::nanoseconds flush_interval,
                                                   steady::time_point wake_by) {
    out.items.clear();
    out.bytes = 0;
    std::unique_lock lock(mu_);
    for (;;) {
        if (aborted_) return wait_result::closed;
        // In-flight batches cannot add to the queue: closed and nothing waiting is the end.
        if (closed_ && waiting_payloads_ == 0) return wait_result::closed;
        const auto now = clock_.monotonic_now();
        const std::uint64_t oldest_epoch = pending_.empty() ? 0 : pending_.begin()->first;
        std::size_t best = lanes_.size();
        std::size_t best_take = 0;
        auto next_due = wake_by;
        for (std::size_t l = 0; l < lanes_.size(); ++l) {
            const lane_run r =
                examine_locked(lanes_[l], oldest_epoch, now, batch_size, flush_interval);
            if (r.take == 0) continue;
            if (!r.ready) {
                next_due = std::min(next_due, r.due);
                continue;
            }
            const auto enqueued = lanes_[l].items.front().enqueued;
            if (best == lanes_.size() || enqueued < lanes_[best].items.front().enqueued) {
                best = l;
                best_take = r.take;
            }
        }
        if (best < lanes_.size()) {
            lane& ln = lanes_[best];
            out.where = {static_cast<std::uint32_t>(best), oldest_epoch};
            for (std::size_t i = 0; i < best_take; ++i) {
                const auto cost = ln.items.front().p.cost();
                out.bytes += cost;
                waiting_bytes_ -= std::min(waiting_bytes_, cost);
                --waiting_payloads_;
                out.items.push_back(std::move(ln.items.front().p));
                ln.items.pop_front();
            }
            ln.busy = true;
            ln.busy_since = now;
            return wait_result::batch;
        }
        if (now >= wake_by) return wait_result::timeout;
        // What a push must know to decide whether this wait needs cutting short.
        sleeper_ = {true, next_due, batch_size, flush_interval};
        clock_.wait_until(lock, items_cv_, next_due);
        sleeper_.waiting = false;
    }
}

export_queue::lane_run export_queue::examine_locked(const lane& ln, std::uint64_t oldest_epoch,
                                                    steady::time_point now,
                                                    std::uint64_t batch_size,
                                                    std::chrono::nanoseconds flush_interval) const {
    lane_run r;
    if (ln.busy || ln.items.empty() || ln.items.front().epoch != oldest_epoch) return r;
    const entry& front = ln.items.front();
    r.take = 1;
    const bool far = merge_forwarded_.load(std::memory_order_relaxed);
    // A backlog makes forwarded OTLP (gzip) bodies worth merging: one request per round trip
    // would cap the lane. Without one, each goes as it came (decompressing and compressing again
    // costs more CPU than a request).
    const bool backlog = far && ln.items.size() >= k_merge_raw_backlog;
    // Forwarded remote-write bodies join what waits in their lane: the batcher concatenates
    // snappy blocks as they are (snappy_concat.h), a copy, not a recompression. Once round trips
    // are long, up to batch_size; with a near backend up to k_near_merge_forwarded bodies, so a
    // batch stays short and the shard scaler keeps reading a near backend.
    const auto joins = [&](const payload& p) {
        if (p.format == payload_format::prw_v1) return true;
        return backlog ? p.concatenable() : p.mergeable();
    };
    if (!joins(front.p)) {
        r.ready = true;  // standalone: goes alone, as soon as the lane is free
        return r;
    }
    std::uint64_t series = front.p.series;
    // A forwarded body (or a prompt part of a request) in the run: the run goes after the
    // forward linger instead of the flush interval.
    bool urgent = front.p.compressed || front.p.prompt;
    std::size_t forwarded = front.p.compressed ? 1 : 0;
    while (r.take < ln.items.size() && series < batch_size) {
        const entry& next = ln.items[r.take];
        if (next.epoch != front.epoch || !joins(next.p) || next.p.format != front.p.format ||
            next.p.tenant != front.p.tenant || series + next.p.series > batch_size ||
            (!far && next.p.compressed && forwarded >= k_near_merge_forwarded)) {
            break;
        }
        series += next.p.series;
        urgent = urgent || next.p.compressed || next.p.prompt;
        forwarded += next.p.compressed ? 1 : 0;
        ++r.take;
    }
    // A run that stops before the end stops because the next payload does not join: the batch is
    // as full as it gets. Otherwise it waits for more until the oldest is due.
    const bool full = series >= batch_size || r.take < ln.items.size();
    r.due = front.enqueued + (urgent ? forward_linger_ : flush_interval);
    r.ready = full || flush_now_ || closed_ || now >= r.due;
    return r;
}

void export_queue::enqueue_locked(std::uint32_t lane_index, entry e) {
    auto& items = lane_for(lane_index).items;
    // Epoch order; within an epoch, what a reshard moved goes before what the senders queued.
    auto at = items.end();
    while (at != items.begin() &&
           (std::prev(at)->epoch > e.epoch ||
            (std::prev(at)->epoch == e.epoch && e.resplit && !std::prev(at)->resplit)))
        --at;
    waiting_bytes_ += e.p.cost();
    ++waiting_payloads_;
    items.insert(at, std::move(e));
}

void export_queue::pending_sub(std::uint64_t epoch, std::size_t n) {
    const auto it = pending_.find(epoch);
    if (it == pending_.end()) return;
    it->second -= std::min(it->second, n);
    if (it->second == 0) pending_.erase(it);
}

void export_queue::release(lane_ref where, std::size_t payloads, std::uint64_t bytes) {
    bool empty = false;
    {
        std::lock_guard lock(mu_);
        lane& ln = lane_for(where.lane);
        if (ln.busy) {
            ln.busy = false;
            busy_total_ += clock_.monotonic_now() - ln.busy_since;
            ++batches_done_;
            bytes_done_ += bytes;
        }
        pending_sub(where.epoch, payloads);
        bytes_ -= std::min(bytes, bytes_);
        empty = bytes_ == 0;
    }
    items_cv_.notify_all();  // the lane (or, past a barrier, every lane) may start a batch
    if (empty) empty_cv_.notify_all();
}

shard_state export_queue::shards() const {
    const auto w = shard_word_.load(std::memory_order_acquire);
    return {static_cast<std::uint32_t>(w & 0xffff), w >> 16};
}

void export_queue::set_shards(std::uint32_t shards) {
    shards = std::clamp<std::uint32_t>(shards, 1, static_cast<std::uint32_t>(lanes_.size()));
    std::lock_guard lock(mu_);
    const auto now = this->shards();
    if (now.shards == shards) return;
    shard_word_.store(pack(now.epoch + 1, shards), std::memory_order_release);
}

void export_queue::next_epoch(std::uint32_t shards) {
    shards = std::clamp<std::uint32_t>(shards, 1, static_cast<std::uint32_t>(lanes_.size()));
    std::lock_guard lock(mu_);
    shard_word_.store(pack(this->shards().epoch + 1, shards), std::memory_order_release);
}

std::vector<export_queue::taken_payload> export_queue::take_waiting() {
    std::vector<taken_payload> out;
    std::lock_guard lock(mu_);
    const auto current = shards().epoch;
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
        auto& items = lanes_[l].items;
        for (auto it = items.begin(); it != items.end();) {
            if (it->epoch >= current) {
                ++it;
                continue;
            }
            waiting_bytes_ -= std::min(waiting_bytes_, it->p.cost());
            --waiting_payloads_;
            out.push_back({std::move(it->p), {static_cast<std::uint32_t>(l), it->epoch}});
            it = items.erase(it);
        }
    }
    return out;  // their bytes stay in bytes_, their count in pending_: the barrier holds
}

void export_queue::put_resplit(std::vector<std::pair<payload, lane_ref>> split,
                               std::vector<taken_payload> unchanged,
                               const std::vector<std::pair<lane_ref, std::uint64_t>>& sources) {
    {
        std::lock_guard lock(mu_);
        const auto now = clock_.monotonic_now();
        // Back into its old lane and epoch (still counted in pending_: never un-counted).
        for (auto& t : unchanged)
            enqueue_locked(t.where.lane, entry{std::move(t.p), t.where.epoch, now});
        for (auto& [p, where] : split) {
            bytes_ += p.cost();
            ++pending_[where.epoch];
            enqueue_locked(where.lane, entry{std::move(p), where.epoch, now, true});
        }
        // The split payloads leave their old epochs and their bytes the budget (their pieces,
        // counted above, replace them).
        for (const auto& [where, cost] : sources) {
            pending_sub(where.epoch, 1);
            bytes_ -= std::min(bytes_, cost);
        }
    }
    items_cv_.notify_all();
}

lane_usage export_queue::usage() const {
    std::lock_guard lock(mu_);
    lane_usage u;
    u.busy = busy_total_;
    u.batches = batches_done_;
    u.bytes_done = bytes_done_;
    u.bytes_in = bytes_in_;
    u.older_epochs = !pending_.empty() && pending_.begin()->first < shards().epoch;
    const auto now = clock_.monotonic_now();
    for (const auto& ln : lanes_) {
        if (!ln.busy) continue;
        ++u.busy_lanes;
        u.busy += now - ln.busy_since;
    }
    u.waiting_bytes = waiting_bytes_;
    u.waiting_payloads = waiting_payloads_;
    return u;
}

void export_queue::flush_now() {
    {
        std::lock_guard lock(mu_);
        flush_now_ = true;
    }
    items_cv_.notify_all();
}

void export_queue::close() {
    {
        std::lock_guard lock(mu_);
        closed_ = true;
    }
    items_cv_.notify_all();
}

std::vector<payload> export_queue::abort() {
    std::vector<payload> left;
    {
        std::lock_guard lock(mu_);
        closed_ = true;
        aborted_ = true;
        for (auto& ln : lanes_) {
            for (auto& e : ln.items) {
                bytes_ -= std::min(e.p.cost(), bytes_);
                pending_sub(e.epoch, 1);
                left.push_back(std::move(e.p));
            }
            ln.items.clear();
        }
        waiting_bytes_ = 0;
        waiting_payloads_ = 0;
    }
    items_cv_.notify_all();
    empty_cv_.notify_all();
    return left;
}

bool export_queue::wait_empty(steady::time_point deadline) {
    std::unique_lock lock(mu_);
    return clock_.wait_until(lock, empty_cv_, deadline, [&] { return bytes_ == 0; });
}

std::uint64_t export_queue::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

std::size_t export_queue::queued_payloads() const {
    std::lock_guard lock(mu_);
    return waiting_payloads_;
}

}  // namespace mg::exporter
