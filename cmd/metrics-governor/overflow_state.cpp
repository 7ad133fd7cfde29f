// The overflow fold state at start and stop (see overflow_state.h).
#include "overflow_state.h"

#include "logging/log.h"
#include "persistence/overflow_state_file.h"

namespace mg::cmd {

void restore_overflow_state(overflow::overflow_store& store, file_system& fs,
                            const std::string& dir, std::int64_t now_ms) {
    auto loaded = persistence::load_overflow_state(fs, dir);
    if (!loaded.ok()) {
        store.count_state_refused();
        logging::warn("overflow state not restored; overflow counters start again at 0",
                      {{"error", loaded.error_message()}});
        return;
    }
    if (!loaded->found) return;
    std::size_t tracked = 0;
    for (const auto& s : loaded->state) tracked += s.counter_last.size() + s.gauge_latest.size();
    const auto saved = loaded->state.size();
    const auto restored = store.restore_state(std::move(loaded->state), now_ms);
    logging::info("overflow state restored",
                  {{"series", restored}, {"saved", saved}, {"tracked", tracked}});
}

bool save_overflow_state(const overflow::overflow_store& store, file_system& fs,
                         const std::string& dir) {
    const auto state = store.save_state();
    if (state.empty()) return true;
    const auto written = persistence::save_overflow_state(fs, dir, state);
    if (!written.ok()) {
        logging::error(
            "overflow state not saved; overflow counters start again at 0 after the "
            "restart",
            {{"error", written.error_message()}, {"series", state.size()}});
        return false;
    }
    logging::info("overflow state saved", {{"series", state.size()}, {"bytes", *written}});
    return true;
}

}  // namespace mg::cmd
