// The current lane map and the barrier between epochs (see lane_epochs.h).
#include "export/lane_epochs.h"

namespace mg::exporter {

lane_epochs::lane_epochs(export_queue& queue, std::size_t max_series)
    : queue_(queue), max_series_(max_series) {
    const auto sh = queue_.shards();
    current_ = std::make_shared<epoch_state>(sh.shards, sh.epoch, max_series_);
}

lane_epochs::ticket::~ticket() {
    if (owner_ != nullptr) owner_->leave(*state_);
}

lane_epochs::ticket lane_epochs::enter() {
    std::lock_guard lock(mu_);
    ++current_->users;
    return ticket(this, current_);
}

void lane_epochs::leave(epoch_state& s) {
    bool wake = false;
    {
        std::lock_guard lock(mu_);
        wake = --s.users == 0 && &s != current_.get();
    }
    if (wake) left_cv_.notify_all();
}

void lane_epochs::advance(std::uint32_t shards) {
    std::unique_lock lock(mu_);
    auto old = current_;
    queue_.next_epoch(shards);
    const auto sh = queue_.shards();
    current_ = std::make_shared<epoch_state>(sh.shards, sh.epoch, max_series_);
    // Older epochs than `old` had no ticket left when they were replaced (advance waited).
    left_cv_.wait(lock, [&] { return old->users == 0; });
}

void lane_epochs::renew() {
    {
        std::lock_guard lock(mu_);
        ++renewals_;
    }
    advance(queue_.shards().shards);
}

std::uint64_t lane_epochs::renewals() const {
    std::lock_guard lock(mu_);
    return renewals_;
}

bool lane_epochs::map_full() const {
    std::lock_guard lock(mu_);
    return current_->lanes.full();
}

std::size_t lane_epochs::mapped_series() const {
    std::lock_guard lock(mu_);
    return current_->lanes.size();
}

}  // namespace mg::exporter
