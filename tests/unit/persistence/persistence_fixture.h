// persistence_fixture: a daemon "life" (governor, host, persistence over one directory and clock),
// requests of numbered series, a log capture and a host over a plain map, shared by the
// persistence unit tests. Header-only; test code.
#pragma once

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "limits/governor.h"
#include "limits/limits_file.h"
#include "logging/log.h"
#include "persistence/bloom_persistence.h"
#include "persistence/governor_host.h"
#include "persistence/tracker_codec.h"
#include "shared/map_tracker_host.h"
#include "unit/limits/limits_helpers.h"

namespace persistence_fixture {

namespace mp = mg::persistence;
namespace lim = mg::limits;
namespace card = mg::cardinality;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Series "metric{id=...}" with owned strings and the views the governor takes.
struct request {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> owned;
    std::vector<std::vector<card::label_view>> labels;
    std::vector<lim::series_ref> refs;

    // `tenant`: "" is the default tenant.
    request(const std::string& metric, int from, int to, const std::string& user = "",
            const std::string& tenant = "")
        : tenant_(tenant) {
        for (int i = from; i < to; ++i) {
            std::vector<std::pair<std::string, std::string>> l{{"id", std::to_string(i)}};
            if (!user.empty()) l.emplace_back("user", user + std::to_string(i));
            owned.emplace_back(metric, std::move(l));
        }
        labels.reserve(owned.size());
        for (const auto& [n, ls] : owned) {
            auto& views = labels.emplace_back();
            for (const auto& [k, v] : ls) views.push_back({k, v});
            refs.push_back({n, tenant_, views, 1});
        }
    }
    std::string tenant_;
};

inline std::shared_ptr<lim::limits_file> limits(const std::string& yaml) {
    return mg::test::limits_from_yaml(yaml);
}

inline const char* k_rules = R"(
rules:
  - name: m-limit
    match: {metric_name: m}
    max_cardinality: 10
    action: drop
  - name: users
    match: {metric_name: u}
    max_cardinality: 1000
    action: drop
    label_limits: {user: 3}
)";

// One daemon "life": a governor, its host and persistence over a shared directory and clock.
struct life {
    life(mg::fake_clock& clock, const std::string& path, mp::persistence_options o = {},
         mg::file_system& fsys = mg::posix_file_system())
        : registry(std::make_shared<prometheus::Registry>()),
          governor(lim::governor_options{}, clock, registry),
          host(governor) {
        governor.set_limits(limits(k_rules));
        o.path = path;
        persistence = std::make_unique<mp::bloom_persistence>(o, host, clock, fsys, registry);
    }
    // Indexes of the kept series.
    std::vector<int> send(const request& r) {
        std::vector<lim::decision> out(r.refs.size());
        governor.decide(r.refs, out);
        std::vector<int> kept;
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i].keep) kept.push_back(static_cast<int>(i));
        return kept;
    }
    std::uint64_t active(const std::string& metric, const std::string& tenant = "") const {
        auto m = governor.metric(metric, tenant);
        return m ? m->active_series : 0;
    }
    // The registry's families and the scrape-time gauges, as the stats endpoint serves them.
    std::string scrape() const {
        auto families = registry->Collect();
        for (auto& f : persistence->collector()->Collect()) families.push_back(std::move(f));
        return prometheus::TextSerializer().Serialize(families);
    }

    std::shared_ptr<prometheus::Registry> registry;
    lim::governor governor;
    mp::governor_host host;
    std::unique_ptr<mp::bloom_persistence> persistence;
};

// Overwrites one byte inside a tracker file (past the gzip header): its CRC no longer matches.
inline void corrupt_one_byte(const std::string& path) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x5a');
}

inline std::string tracker_file(const std::string& dir, const std::string& key) {
    return dir + "/trackers/" + mp::sha256_hex(key) + ".bloom.gz";
}

// A whole file's bytes (empty when it cannot be read), and a file replaced by `bytes`.
inline std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// The state directory as a process killed now would leave it, copied to `to` (the test then
// restores from the copy while the original's process goes on or stops cleanly).
inline void copy_as_crashed(const std::string& from, const std::string& to) {
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}
// The state directory's meta.json, parsed.
inline nlohmann::json meta_of(const std::string& dir) {
    return nlohmann::json::parse(read_all(dir + "/meta.json"));
}

// Captures log lines for the test's lifetime.
struct log_capture {
    log_capture() {
        mg::logging::init(spdlog::level::info, mg::logging::format::json,
                          std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    }
    ~log_capture() { mg::logging::init(spdlog::level::warn, mg::logging::format::json); }
    std::string text() const { return out.str(); }
    std::ostringstream out;
};

// A host over a plain map, for keys the governor never makes.
using map_host = mg::test::map_tracker_host;

}  // namespace persistence_fixture
