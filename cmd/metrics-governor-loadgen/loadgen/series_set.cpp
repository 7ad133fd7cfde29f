#include "loadgen/series_set.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string_view>

namespace mg::loadgen {

namespace {

// Metric names: recognisable shapes and lengths, always prefixed so that a run against a real
// backend cannot be mistaken for (or pollute) real metrics.
constexpr std::array<std::string_view, 12> k_metric_bases{
    "http_requests_total",
    "http_request_duration_seconds_sum",
    "node_cpu_seconds_total",
    "node_memory_active_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "process_resident_memory_bytes",
    "grpc_server_handled_total",
    "kube_pod_container_status_restarts_total",
    "go_goroutines",
    "db_client_connections_usage",
    "queue_messages_pending",
};

// The label catalogue, in the order labels are added as -labels grows.
constexpr std::array<std::string_view, 17> k_label_names{
    "series_id", "instance", "job",    "pod",         "namespace", "container",
    "node",      "cluster",  "region", "zone",        "env",       "service",
    "version",   "team",     "method", "status_code", "handler",
};

constexpr std::array<std::string_view, 8> k_jobs{
    "node-exporter", "kube-state-metrics", "apiserver",         "payments",
    "checkout",      "frontend",           "postgres-exporter", "redis-exporter"};
constexpr std::array<std::string_view, 8> k_apps{"api-gateway", "checkout",  "payments", "frontend",
                                                 "search",      "inventory", "auth",     "worker"};
constexpr std::array<std::string_view, 8> k_namespaces{"default",  "kube-system", "monitoring",
                                                       "payments", "checkout",    "ingress-nginx",
                                                       "data",     "staging"};
constexpr std::array<std::string_view, 6> k_containers{"app",      "sidecar", "istio-proxy",
                                                       "exporter", "init",    "worker"};
constexpr std::array<std::string_view, 3> k_clusters{"prod-eu-1", "prod-us-1", "staging-eu-1"};
constexpr std::array<std::string_view, 4> k_regions{"eu-west-1", "us-east-1", "eu-central-1",
                                                    "ap-southeast-2"};
constexpr std::array<std::string_view, 3> k_zones{"zone-a", "zone-b", "zone-c"};
constexpr std::array<std::string_view, 3> k_envs{"prod", "staging", "dev"};
constexpr std::array<std::string_view, 6> k_services{"orders",  "users",    "billing",
                                                     "catalog", "shipping", "notifications"};
constexpr std::array<std::string_view, 5> k_teams{"platform", "payments", "growth", "core", "data"};
constexpr std::array<std::string_view, 4> k_methods{"GET", "POST", "PUT", "DELETE"};
constexpr std::array<std::string_view, 7> k_status_codes{"200", "201", "204", "400",
                                                         "404", "500", "503"};
constexpr std::array<std::string_view, 6> k_handlers{
    "/api/v1/users", "/api/v1/orders", "/healthz", "/metrics", "/login", "/api/v1/search"};

template <std::size_t n>
std::string_view pick(const std::array<std::string_view, n>& list, std::uint64_t h) {
    return list[h % n];
}

// Appends the decimal form of v.
void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_chars(std::string& out, std::uint64_t h, std::size_t count, std::string_view alphabet) {
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(alphabet[h % alphabet.size()]);
        h /= alphabet.size();
    }
}

}  // namespace

std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

series_set::series_set(const series_shape& shape, std::shared_ptr<const shape_template> templ)
    : shape_(shape), template_(std::move(templ)) {
    if (shape.series == 0 || shape.series > k_max_series || shape.metrics == 0 ||
        shape.metrics > shape.series || shape.labels == 0 || shape.labels > k_max_labels ||
        !(shape.churn >= 0 && shape.churn <= 1)) {
        throw std::invalid_argument("series_set: shape out of range");
    }
    for (std::uint32_t m = 0; m < shape.metrics && template_; ++m)
        metric_names_.push_back(template_->metric_name(m, shape.metrics));
    for (std::uint32_t m = 0; m < shape.metrics && !template_; ++m) {
        std::string name = "loadgen_";
        name += k_metric_bases[m % k_metric_bases.size()];
        if (m >= k_metric_bases.size()) {
            name += '_';
            append_number(name, m / k_metric_bases.size());
        }
        metric_names_.push_back(std::move(name));
    }

    std::vector<std::pair<std::string, std::uint32_t>> labels;
    for (std::uint32_t k = 0; k < shape.labels; ++k) {
        std::string name;
        if (k < k_label_names.size()) {
            name = k_label_names[k];
        } else {
            name = "label_";
            append_number(name, k);
        }
        labels.emplace_back(std::move(name), k);
    }
    std::sort(labels.begin(), labels.end());
    for (auto& [name, kind] : labels) {
        label_names_.push_back(std::move(name));
        label_kinds_.push_back(kind);
    }

    ids_.resize(shape.series);
    std::iota(ids_.begin(), ids_.end(), std::uint64_t{0});
    next_id_ = shape.series;
    replaced_per_cycle_ =
        static_cast<std::uint64_t>(std::llround(shape.churn * static_cast<double>(shape.series)));
    if (replaced_per_cycle_ > 0) {
        permutation_.resize(shape.series);
        std::iota(permutation_.begin(), permutation_.end(), std::uint32_t{0});
    }
    rng_state_ = mix64(shape.seed ^ 0x6c6f616467656e00ULL);  // "loadgen"
}

std::uint32_t series_set::metric_of(std::uint64_t slot) const {
    // slot * M < 10M * 10M fits in 64 bits.
    return static_cast<std::uint32_t>(slot * shape_.metrics / shape_.series);
}

void series_set::template_labels(std::uint64_t slot, std::vector<owned_label>& out) const {
    const std::uint32_t m = metric_of(slot);
    // The first slot of metric m: the smallest s with s * M / N >= m.
    const std::uint64_t first =
        (static_cast<std::uint64_t>(m) * shape_.series + shape_.metrics - 1) / shape_.metrics;
    template_->labels(m, shape_.metrics, slot - first, ids_[slot], out);
}

std::uint64_t series_set::next_random() {
    rng_state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(rng_state_);
}

std::uint64_t series_set::bounded(std::uint64_t n) {
    // Lemire's multiply-shift: the bias is at most n / 2^64, irrelevant for picking slots.
    __extension__ using u128 = unsigned __int128;  // -Wpedantic: a GCC/Clang extension
    return static_cast<std::uint64_t>((static_cast<u128>(next_random()) * n) >> 64);
}

std::span<const std::uint64_t> series_set::advance() {
    ++cycle_;
    replaced_.clear();
    // A partial Fisher-Yates shuffle over the slot indices: the first k entries become k distinct
    // slots chosen uniformly. The array is not reset between cycles; it stays a permutation, and
    // its evolution is a function of the seed alone.
    const std::uint64_t n = permutation_.size();
    for (std::uint64_t i = 0; i < replaced_per_cycle_; ++i) {
        const std::uint64_t j = i + bounded(n - i);
        std::swap(permutation_[i], permutation_[j]);
        const std::uint32_t slot = permutation_[i];
        ids_[slot] = next_id_++;
        replaced_.push_back(slot);
    }
    return replaced_;
}

void series_set::label_value(std::uint64_t id, std::uint32_t label, std::string& out) const {
    const std::uint32_t kind = label_kinds_[label];
    // One independent 64-bit hash per (seed, series, label): every value is a function of them.
    const std::uint64_t h = mix64(mix64(shape_.seed) ^ mix64(id * 0x100000001b3ULL + kind));
    // Appends only (out += ...): GCC 12 at -O2 warns (-Wrestrict, a false positive) on
    // std::string::operator= with a literal.
    out.clear();
    switch (kind) {
        case 0:  // series_id
            append_number(out, id);
            break;
        case 1: {  // instance: host:port
            out += "10.";
            append_number(out, (h >> 8) & 0xff);
            out += '.';
            append_number(out, (h >> 16) & 0xff);
            out += '.';
            append_number(out, (h >> 24) & 0xff);
            constexpr std::array<std::uint64_t, 4> ports{9100, 8080, 9090, 9273};
            out += ':';
            append_number(out, ports[(h >> 32) % ports.size()]);
            break;
        }
        case 2:
            out += pick(k_jobs, h);
            break;
        case 3:  // pod: <deployment>-<replicaset hash>-<pod suffix>
            out += pick(k_apps, h);
            out += '-';
            append_chars(out, h >> 3, 10, "0123456789abcdef");
            out += '-';
            append_chars(out, mix64(h), 5, "bcdfghjklmnpqrstvwxz2456789");
            break;
        case 4:
            out += pick(k_namespaces, h);
            break;
        case 5:
            out += pick(k_containers, h);
            break;
        case 6:  // node
            out += "ip-10-";
            append_number(out, (h >> 8) & 0xff);
            out += '-';
            append_number(out, (h >> 16) & 0xff);
            out += '-';
            append_number(out, (h >> 24) & 0xff);
            out += ".ec2.internal";
            break;
        case 7:
            out += pick(k_clusters, h);
            break;
        case 8:
            out += pick(k_regions, h);
            break;
        case 9:
            out += pick(k_zones, h);
            break;
        case 10:
            out += pick(k_envs, h);
            break;
        case 11:
            out += pick(k_services, h);
            break;
        case 12:  // version
            out += "v";
            append_number(out, 1 + h % 3);
            out += '.';
            append_number(out, (h >> 8) % 20);
            out += '.';
            append_number(out, (h >> 16) % 10);
            break;
        case 13:
            out += pick(k_teams, h);
            break;
        case 14:
            out += pick(k_methods, h);
            break;
        case 15:
            out += pick(k_status_codes, h);
            break;
        case 16:
            out += pick(k_handlers, h);
            break;
        default:  // label_<k>
            out += "value_";
            append_number(out, h % 1000);
            break;
    }
}

}  // namespace mg::loadgen
