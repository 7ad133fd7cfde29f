// capture_shape: turns remote write bodies recorded by `null_sink -capture` (from a real
// Prometheus, bench/capture_prometheus.sh) into a shape file for the load generator's -shape
// flag: one line per distinct series, `name{label="value",...}` with the labels as the sender
// sent them (sorted), grouped by metric name. Families are capped at -max-per-family series
// (histograms of many targets would otherwise fill the file) and the file at -max-series.
// Statistics of the capture (requests, series and samples per request, metadata-only requests,
// label counts and bytes per series) go to stderr and, as `#` comment lines, to the top of the
// file, so docs/benchmarks.md can quote what the shape was made from.
//
// Usage: capture_shape DIR [-max-per-family=N] [-max-series=N] > shape.txt
// Single-threaded; reads every body-*.bin of DIR in name order.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/compression.h"
#include "protocol/remote_write.h"

namespace {

std::string quote(std::string_view v) {
    std::string out;
    out.reserve(v.size() + 2);
    out.push_back('"');
    for (const char c : v) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::uint64_t percentile(std::vector<std::uint64_t> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

bool flag(std::string_view arg, std::string_view name, std::uint64_t& out) {
    while (arg.starts_with('-')) arg.remove_prefix(1);
    if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=')
        return false;
    arg.remove_prefix(name.size() + 1);
    const auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), out);
    return ec == std::errc() && p == arg.data() + arg.size();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: capture_shape DIR [-max-per-family=N] [-max-series=N]\n");
        return 2;
    }
    std::uint64_t max_per_family = 64, max_series = 20000;
    for (int i = 2; i < argc; ++i) {
        if (!flag(argv[i], "max-per-family", max_per_family) &&
            !flag(argv[i], "max-series", max_series)) {
            std::fprintf(stderr, "capture_shape: unknown or bad argument %s\n", argv[i]);
            return 2;
        }
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(argv[1]))
        if (e.path().filename().string().starts_with("body-")) files.push_back(e.path());
    std::sort(files.begin(), files.end());

    // family -> distinct series (rendered), in first-seen order within the family
    std::map<std::string, std::vector<std::string>> families;
    std::set<std::string> seen;
    std::vector<std::uint64_t> series_per_request, bytes_per_request, labels_per_series,
        label_bytes_per_series;
    std::uint64_t metadata_only = 0, samples = 0, bad = 0;
    std::string raw;
    mg::protocol::series_batch batch;
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        const std::string body((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        raw.clear();
        batch.clear();
        if (!mg::protocol::snappy_decode(body, 256u << 20, raw) ||
            !mg::protocol::decode_remote_write_v1(raw, batch)) {
            ++bad;
            continue;
        }
        if (batch.size() == 0) {
            ++metadata_only;
            continue;
        }
        series_per_request.push_back(batch.size());
        bytes_per_request.push_back(body.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto s = batch[i];
            samples += s.samples;
            std::string line(s.metric_name);
            std::uint64_t label_bytes = s.metric_name.size() + 8;  // __name__
            line.push_back('{');
            for (std::size_t j = 0; j < s.labels.size(); ++j) {
                if (j) line.push_back(',');
                line += s.labels[j].name;
                line.push_back('=');
                line += quote(s.labels[j].value);
                label_bytes += s.labels[j].name.size() + s.labels[j].value.size();
            }
            line.push_back('}');
            labels_per_series.push_back(s.labels.size() + 1);
            label_bytes_per_series.push_back(label_bytes);
            if (!seen.insert(line).second) continue;
            families[std::string(s.metric_name)].push_back(std::move(line));
        }
    }
    std::ostringstream stats;
    stats << "# captured: " << files.size() << " bodies (" << metadata_only
          << " metadata only, " << bad << " undecodable), " << samples << " samples, "
          << seen.size() << " distinct series in " << families.size() << " families\n"
          << "# series per request: p50 " << percentile(series_per_request, 0.5) << ", p90 "
          << percentile(series_per_request, 0.9) << ", max "
          << percentile(series_per_request, 1.0) << "; snappy bytes per request: p50 "
          << percentile(bytes_per_request, 0.5) << "\n"
          << "# labels per series (with __name__): p50 " << percentile(labels_per_series, 0.5)
          << ", p90 " << percentile(labels_per_series, 0.9) << ", max "
          << percentile(labels_per_series, 1.0) << "; label bytes per series: p50 "
          << percentile(label_bytes_per_series, 0.5) << ", p90 "
          << percentile(label_bytes_per_series, 0.9) << "\n";
    std::fputs(stats.str().c_str(), stderr);
    std::fputs(stats.str().c_str(), stdout);
    std::printf("# kept: at most %llu series per family, %llu in all\n",
                static_cast<unsigned long long>(max_per_family),
                static_cast<unsigned long long>(max_series));
    std::uint64_t written = 0;
    for (const auto& [name, lines] : families) {
        for (std::size_t i = 0; i < lines.size() && i < max_per_family; ++i) {
            if (written++ >= max_series) break;
            std::printf("%s\n", lines[i].c_str());
        }
    }
    return bad == files.size() && !files.empty() ? 1 : 0;
}
