#include "telemetry/process_collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>

namespace t = mg::telemetry;

namespace {
const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& fs,
                                     const std::string& name) {
    for (const auto& f : fs) {
        if (f.name == name) return &f;
    }
    return nullptr;
}
}  // namespace

TEST_CASE("process metrics reflect this process", "[telemetry]") {
    t::process_collector c({"1.2.3", "gcc", "Debug"});
    const auto before = c.Collect();
    const auto* fds = find(before, "process_open_fds");
    REQUIRE(fds != nullptr);
    const double open_before = fds->metric[0].gauge.value;

    const int extra = ::open("/dev/null", O_RDONLY);
    REQUIRE(extra >= 0);
    const auto after = c.Collect();
    CHECK(find(after, "process_open_fds")->metric[0].gauge.value == open_before + 1);
    ::close(extra);

    const auto* rss = find(after, "process_resident_memory_bytes");
    REQUIRE(rss != nullptr);
    CHECK(rss->metric[0].gauge.value > 1e5);
    const auto* start = find(after, "process_start_time_seconds");
    REQUIRE(start != nullptr);
    const double now = static_cast<double>(std::time(nullptr));
    CHECK(start->metric[0].gauge.value <= now + 1);
    CHECK(start->metric[0].gauge.value > now - 3600);
    const auto* cpu = find(after, "process_cpu_seconds_total");
    REQUIRE(cpu != nullptr);
    CHECK(cpu->type == prometheus::MetricType::Counter);

    const auto* info = find(after, "metrics_governor_build_info");
    REQUIRE(info != nullptr);
    REQUIRE(info->metric[0].label.size() == 3);
    CHECK(info->metric[0].label[0].value == "1.2.3");
}
