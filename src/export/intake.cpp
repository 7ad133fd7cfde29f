#include "export/intake.h"

#include <utility>
#include <vector>

#include "logging/log.h"

namespace mg::exporter {

namespace {

// Series and points of one request's payloads.
std::pair<std::uint32_t, std::uint64_t> totals(const lane_payloads& items) {
    std::uint32_t series = 0;
    std::uint64_t points = 0;
    for (const auto& [p, where] : items) {
        series += p.series;
        points += p.points;
    }
    return {series, points};
}

}  // namespace

intake::intake(export_queue& queue, export_metrics& metrics, const std::atomic<bool>& closed)
    : queue_(queue), metrics_(metrics), closed_(closed) {}

intake::~intake() = default;

status intake::open_disk(const std::string& path, std::uint64_t max_disk_bytes,
                         mg::file_system& fs) {
    auto dq = disk_queue::open(path, max_disk_bytes, 0, fs);
    if (!dq) return make_error(dq.error_message());
    disk_ = std::move(*dq);
    metrics_.set_disk_max_bytes(disk_->max_bytes());
    metrics_.disk_corrupt(disk_->corrupt());
    std::uint64_t n = 0;
    std::uint64_t series = 0;
    for (auto& p : disk_->take_recovered()) {
        metrics_.accepted(p.series, p.points);
        series += p.series;
        ++n;
        // Epoch 0: before anything of this run, in one lane (the order they were written).
        queue_.try_push(p, lane_ref{0, 0}, true);
    }
    metrics_.replayed(n);
    metrics_.set_disk_bytes(disk_->bytes());
    metrics_.set_queue_bytes(queue_.bytes());
    if (n != 0 || disk_->corrupt() != 0) {
        logging::info("disk queue: replaying what a previous run left",
                      {{"path", path},
                       {"payloads", n},
                       {"series", series},
                       {"bytes", disk_->bytes()},
                       {"corrupt", disk_->corrupt()}});
    }
    return {};
}

submit_status intake::reserve(std::uint64_t bytes, room_held& out) {
    out.bytes = 0;
    if (closed_.load(std::memory_order_acquire)) return submit_status::closed;
    if (disk_ && disk_->bytes() + bytes > disk_->max_bytes()) return refuse();
    if (!queue_.try_reserve(bytes))
        return closed_.load(std::memory_order_acquire) ? submit_status::closed : refuse();
    out.bytes = bytes;
    metrics_.set_queue_bytes(queue_.bytes());
    return submit_status::accepted;
}

void intake::unreserve(std::uint64_t bytes) {
    if (bytes == 0) return;
    queue_.unreserve(bytes);
    metrics_.set_queue_bytes(queue_.bytes());
}

submit_status intake::refuse() {
    metrics_.queue_full();
    return submit_status::queue_full;
}

submit_status intake::push(lane_payloads& items, room_held* room) {
    if (disk_) return push_durable(items, room);
    const auto [series, points] = totals(items);
    // Counted before the push: the batcher may send it (and count it sent) at once.
    metrics_.accepted(series, points);
    std::uint64_t none = 0;
    if (!queue_.try_push_group(items, room != nullptr ? room->bytes : none)) {
        metrics_.reverted(series, points);  // never accepted: neither sent nor dropped
        return closed_.load(std::memory_order_acquire) ? submit_status::closed : refuse();
    }
    metrics_.set_queue_bytes(queue_.bytes());
    return submit_status::accepted;
}

// The records are on disk (synced) before accepted is returned. A request split over lanes is
// several records: if one cannot be written, those written are acknowledged (removed) again.
submit_status intake::push_durable(lane_payloads& items, room_held* room) {
    std::lock_guard lock(durable_mu_);
    std::uint64_t cost = 0;
    for (const auto& [p, where] : items) cost += p.cost();
    const auto used = queue_.bytes();
    const bool reserved = room != nullptr && room->bytes != 0;
    if (!reserved && used != 0 && used + cost > queue_.max_bytes()) return refuse();
    std::vector<std::uint64_t> written;
    for (auto& [p, where] : items) {
        const auto st = disk_->append(p);
        if (st == disk_queue::append_status::ok) {
            written.push_back(p.disk_id);
            continue;
        }
        if (st == disk_queue::append_status::error) metrics_.error("disk");
        if (!written.empty()) disk_->ack(written);
        metrics_.set_disk_bytes(disk_->bytes());
        return refuse();
    }
    metrics_.set_disk_bytes(disk_->bytes());
    const auto [series, points] = totals(items);
    metrics_.accepted(series, points);
    // Fails only when drain() closed the queue meanwhile: the payloads are on disk and go out
    // after the next start, so they were accepted all the same.
    std::uint64_t none = 0;
    queue_.try_push_group(items, reserved ? room->bytes : none);
    metrics_.set_queue_bytes(queue_.bytes());
    return submit_status::accepted;
}

}  // namespace mg::exporter
