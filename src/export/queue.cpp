#include "export/queue.h"

namespace mg::exporter {

bool export_queue::try_push(payload& p, bool ignore_budget) {
    const std::uint64_t cost = p.cost();
    {
        std::lock_guard lock(mu_);
        if (closed_) return false;
        if (!ignore_budget && bytes_ + cost > max_bytes_ && bytes_ != 0) return false;
        bytes_ += cost;
        items_.push_back(entry{std::move(p), std::chrono::steady_clock::now()});
    }
    items_cv_.notify_one();
    return true;
}

bool export_queue::next_batch(std::vector<payload>& out, std::uint64_t& bytes,
                              std::uint64_t batch_size, std::chrono::nanoseconds flush_interval) {
    out.clear();
    bytes = 0;
    std::unique_lock lock(mu_);
    for (;;) {
        if (aborted_) return false;
        if (items_.empty()) {
            if (closed_) return false;
            items_cv_.wait(lock);
            continue;
        }
        const entry& front = items_.front();
        std::size_t take = 1;
        if (front.p.mergeable()) {
            std::uint64_t series = front.p.series;
            while (take < items_.size() && series < batch_size) {
                const payload& next = items_[take].p;
                if (!next.mergeable() || next.format != front.p.format ||
                    series + next.series > batch_size) {
                    break;
                }
                series += next.series;
                ++take;
            }
            // A run that stops before the end stops because the next payload does not fit: the
            // batch is as full as it gets. Otherwise wait for more until the oldest is due.
            const bool full = series >= batch_size || take < items_.size();
            const auto due = front.enqueued + flush_interval;
            if (!full && !flush_now_ && !closed_ && std::chrono::steady_clock::now() < due) {
                items_cv_.wait_until(lock, due);
                continue;
            }
        }
        for (std::size_t i = 0; i < take; ++i) {
            bytes += items_.front().p.cost();
            out.push_back(std::move(items_.front().p));
            items_.pop_front();
        }
        return true;
    }
}

void export_queue::release(std::uint64_t bytes) {
    bool empty = false;
    {
        std::lock_guard lock(mu_);
        bytes_ -= std::min(bytes, bytes_);
        empty = bytes_ == 0;
    }
    if (empty) empty_cv_.notify_all();
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
        for (auto& e : items_) {
            bytes_ -= std::min(e.p.cost(), bytes_);
            left.push_back(std::move(e.p));
        }
        items_.clear();
    }
    items_cv_.notify_all();
    empty_cv_.notify_all();
    return left;
}

bool export_queue::wait_empty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return empty_cv_.wait_until(lock, deadline, [&] { return bytes_ == 0; });
}

std::uint64_t export_queue::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

std::size_t export_queue::queued_payloads() const {
    std::lock_guard lock(mu_);
    return items_.size();
}

}  // namespace mg::exporter
