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
    }
    items_cv_.notify_all();
    return true;
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
            const lane& ln = lanes_[l];
            if (ln.busy || ln.items.empty() || ln.items.front().epoch != oldest_epoch) continue;
            const entry& front = ln.items.front();
            std::size_t take = 1;
            // A backlog makes forwarded (compressed) bodies worth merging: one request per round
            // trip would cap the lane. Without one, each goes as it came, at once.
            const bool backlog = merge_forwarded_.load(std::memory_order_relaxed) &&
                                 ln.items.size() >= k_merge_raw_backlog;
            // Forwarded remote-write bodies join whatever waits once round trips are long: the
            // batcher concatenates snappy blocks as they are (snappy_concat.h), a copy, not a
            // recompression. With a near backend each goes as it came (bigger batches would only
            // make its round trips look long to the shard scaler).
            const bool far = merge_forwarded_.load(std::memory_order_relaxed);
            const auto joins = [&](const payload& p) {
                if (p.format == payload_format::prw_v1) return far || p.mergeable();
                return backlog ? p.concatenable() : p.mergeable();
            };
            if (joins(front.p)) {
                std::uint64_t series = front.p.series;
                // A forwarded body (or a prompt part of a request) in the run: it goes at once,
                // as it would have alone.
                bool urgent = front.p.compressed || front.p.prompt;
                while (take < ln.items.size() && series < batch_size) {
                    const entry& next = ln.items[take];
                    if (next.epoch != front.epoch || !joins(next.p) ||
                        next.p.format != front.p.format || next.p.tenant != front.p.tenant ||
                        series + next.p.series > batch_size) {
                        break;
                    }
                    series += next.p.series;
                    urgent = urgent || next.p.compressed || next.p.prompt;
                    ++take;
                }
                // A run that stops before the end stops because the next payload does not fit: the
                // batch is as full as it gets. Otherwise wait for more until the oldest is due.
                const bool full = series >= batch_size || take < ln.items.size() || urgent;
                const auto due = front.enqueued + flush_interval;
                if (!full && !flush_now_ && !closed_ && now < due) {
                    next_due = std::min(next_due, due);
                    continue;
                }
            }
            if (best == lanes_.size() || front.enqueued < lanes_[best].items.front().enqueued) {
                best = l;
                best_take = take;
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
        clock_.wait_until(lock, items_cv_, next_due);
    }
}

void export_queue::enqueue_locked(std::uint32_t lane_index, entry e) {
    auto& items = lanes_[std::min<std::size_t>(lane_index, lanes_.size() - 1)].items;
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
        lane& ln =
            lanes_[std::min<std::size_t>(where.lane, lanes_.size() - 1)];  // as enqueue_locked
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
