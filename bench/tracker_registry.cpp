// The benchmark's tracker registry (see tracker_registry.h).
#include "tracker_registry.h"

#include <stdexcept>

namespace mg::bench {

tracker_registry::tracker_registry(const cardinality::tracker_config& defaults, mg::clock& clock)
    : defaults_(defaults), clock_(clock) {
    if (auto st = defaults.validate(); !st) throw std::invalid_argument(st.error_message());
}

tracker_registry::tracker_ptr tracker_registry::get_or_create(std::string_view metric_name) {
    return get_or_create(metric_name, defaults_);
}

tracker_registry::tracker_ptr tracker_registry::get_or_create(
    std::string_view metric_name, const cardinality::tracker_config& config) {
    // Built outside the lock: construction validates and may throw; it allocates no filter yet.
    return map_.get_or_create(
        metric_name, [&] { return std::make_shared<cardinality::bloom_tracker>(config, clock_); });
}

std::size_t tracker_registry::memory_bytes() const {
    std::size_t bytes = 0;
    for_each([&](std::string_view, const tracker_ptr& t) { bytes += t->memory_bytes(); });
    return bytes;
}

}  // namespace mg::bench
