#include "telemetry/process_collector.h"

#include <dirent.h>
#include <prometheus/metric_family.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace mg::telemetry {
namespace {

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value,
                                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter)
        m.counter.value = value;
    else
        m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return f;
}

struct proc_stat {
    double cpu_seconds = 0;
    double start_time_seconds = 0;
    double virtual_bytes = 0;
    double resident_bytes = 0;
    bool ok = false;
};

double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double v = 0;
            in >> v;
            return v;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

proc_stat read_proc_stat() {
    proc_stat out;
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return out;
    // The command name (field 2) may contain spaces; the fields after its closing paren are fixed.
    const auto paren = line.rfind(')');
    if (paren == std::string::npos) return out;
    std::istringstream rest(line.substr(paren + 2));
    std::vector<std::string> f;
    std::string tok;
    while (rest >> tok) f.push_back(tok);
    // f[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24 (1-based).
    if (f.size() < 22) return out;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    out.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    out.start_time_seconds = boot_time_seconds() + std::stod(f[19]) / ticks;
    out.virtual_bytes = std::stod(f[20]);
    out.resident_bytes = std::stod(f[21]) * page;
    out.ok = true;
    return out;
}

double open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    double n = 0;
    while (const auto* e = readdir(dir)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    const auto st = read_proc_stat();
    if (st.ok) {
        out.push_back(gauge_family("process_cpu_seconds_total",
                                   "Total user and system CPU time spent in seconds.",
                                   st.cpu_seconds, prometheus::MetricType::Counter));
        out.push_back(gauge_family("process_resident_memory_bytes",
                                   "Resident memory size in bytes.", st.resident_bytes));
        out.push_back(gauge_family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                   st.virtual_bytes));
        out.push_back(gauge_family("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.",
                                   st.start_time_seconds));
    }
    out.push_back(gauge_family("process_open_fds", "Number of open file descriptors.", open_fds()));
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        out.push_back(gauge_family("process_max_fds", "Maximum number of open file descriptors.",
                                   static_cast<double>(lim.rlim_cur)));
    }
    auto info = gauge_family(
        "metrics_governor_build_info",
        "A metric with a constant 1 value labeled by the build of metrics-governor.", 1);
    info.metric[0].label = {
        {"version", info_.version}, {"compiler", info_.compiler}, {"build_type", info_.build_type}};
    out.push_back(std::move(info));
    return out;
}

}  // namespace mg::telemetry
