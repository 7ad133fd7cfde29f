#include "loadgen/request_builder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <span>
#include <stdexcept>
#include <thread>

#include "protocol/compression.h"
#include "protocol/otlp_builder.h"
#include "protocol/remote_write_builder.h"
#include "protocol/wire.h"

namespace mg::loadgen {

namespace proto = mg::protocol;

std::string_view content_type(wire_protocol) {
    return "application/x-protobuf";
}

std::string_view content_encoding(wire_protocol p) {
    return p == wire_protocol::prw ? "snappy" : "";
}

std::string_view default_path(wire_protocol p) {
    return p == wire_protocol::prw ? "/api/v1/write" : "/v1/metrics";
}

request_builder::request_builder(const series_shape& series, const request_shape& requests,
                                 std::shared_ptr<const shape_template> templ)
    : set_(series, std::move(templ)), requests_(requests) {
    const std::uint64_t n = set_.size();
    const std::uint64_t per = std::max<std::uint64_t>(1, requests_.series_per_request);
    requests_.series_per_request = per;
    requests_.samples_per_series = std::max<std::uint32_t>(1, requests_.samples_per_series);
    request_count_ = static_cast<std::size_t>((n + per - 1) / per);
    raw_.resize(request_count_);
    sites_.resize(request_count_);
    bounds_.resize(request_count_);
    if (requests.protocol == wire_protocol::prw) slot_changed_.assign(n, 0);
    changed_.assign(request_count_, 0);
    const auto& names = set_.label_names();

    if (requests_.protocol == wire_protocol::prw) {
        prw_series_.resize(n);
        for (std::uint64_t slot = 0; slot < n; ++slot) {
            auto& ts = prw_series_[slot];
            if (set_.templated()) {
                ts.samples.resize(requests_.samples_per_series);
                fill_labels(slot);
                continue;
            }
            ts.labels.resize(names.size() + 1);
            // "__name__" sorts before every lower-case label name, so the labels stay sorted.
            ts.labels[0] = {"__name__", set_.metric_name(set_.metric_of(slot))};
            for (std::size_t i = 0; i < names.size(); ++i) ts.labels[i + 1].name = names[i];
            ts.samples.resize(requests_.samples_per_series);
            fill_labels(slot);
        }
        return;
    }

    // OTLP: per request one resource and one scope, both without attributes or names, so a point's
    // labels are exactly its L attributes; one Metric per metric name in the request's slots
    // (slots of a metric are contiguous), holding samples_per_series points per slot.
    otlp_requests_.resize(request_count_);
    for (std::size_t r = 0; r < request_count_; ++r) {
        auto& scope = otlp_requests_[r].scopes.emplace_back();
        const std::uint64_t lo = r * per;
        const std::uint64_t hi = std::min(n, lo + per);
        for (std::uint64_t slot = lo; slot < hi; ++slot) {
            const std::string& name = set_.metric_name(set_.metric_of(slot));
            if (scope.metrics.empty() || scope.metrics.back().name != name) {
                auto& m = scope.metrics.emplace_back();
                m.name = name;
                m.kind = proto::metric_kind::gauge;
            }
            for (std::uint32_t j = 0; j < requests_.samples_per_series; ++j) {
                auto& p = scope.metrics.back().points.emplace_back();
                p.attributes.resize(names.size());
                for (std::size_t i = 0; i < names.size(); ++i) {
                    p.attributes[i].key = names[i];
                    p.attributes[i].value.k = proto::otlp_any_value::kind::string;
                }
            }
        }
    }
    // Pointers are taken once every vector has its final size, so they stay valid.
    otlp_first_point_.resize(n);
    for (std::size_t r = 0; r < request_count_; ++r) {
        std::uint64_t slot = r * per;
        for (auto& m : otlp_requests_[r].scopes.front().metrics) {
            for (std::size_t p = 0; p < m.points.size(); p += requests_.samples_per_series) {
                otlp_first_point_[slot++] = &m.points[p];
            }
        }
    }
    for (std::uint64_t slot = 0; slot < n; ++slot) fill_labels(slot);
}

std::uint64_t request_builder::series_in(std::size_t request) const {
    const std::uint64_t lo = request * requests_.series_per_request;
    return std::min(set_.size(), lo + requests_.series_per_request) - lo;
}

void request_builder::fill_labels(std::uint64_t slot) {
    const std::uint64_t id = set_.id_of(slot);
    const auto label_count = static_cast<std::uint32_t>(set_.label_names().size());
    if (requests_.protocol == wire_protocol::prw && set_.templated()) {
        set_.template_labels(slot, template_scratch_);
        // Sorted as a sender sorts them: __name__ among the others by byte order.
        template_scratch_.emplace_back("__name__", set_.metric_name(set_.metric_of(slot)));
        std::sort(template_scratch_.begin(), template_scratch_.end());
        auto& labels = prw_series_[slot].labels;
        labels.resize(template_scratch_.size());
        for (std::size_t i = 0; i < template_scratch_.size(); ++i) {
            labels[i].name = std::move(template_scratch_[i].first);
            labels[i].value = std::move(template_scratch_[i].second);
        }
        return;
    }
    if (requests_.protocol == wire_protocol::prw) {
        auto& labels = prw_series_[slot].labels;
        for (std::uint32_t i = 0; i < label_count; ++i)
            set_.label_value(id, i, labels[i + 1].value);
        return;
    }
    proto::otlp_point* first = otlp_first_point_[slot];
    for (std::uint32_t i = 0; i < label_count; ++i)
        set_.label_value(id, i, first->attributes[i].value.s);
    for (std::uint32_t j = 1; j < requests_.samples_per_series; ++j) {
        for (std::uint32_t i = 0; i < label_count; ++i) {
            first[j].attributes[i].value.s = first->attributes[i].value.s;
        }
    }
}

double request_builder::sample_value(std::uint64_t seed, std::uint64_t id, std::uint64_t cycle,
                                     std::uint32_t samples_per_series, std::uint32_t j) {
    const std::uint64_t start = mix64(mix64(seed) ^ mix64(id)) % 1000;
    return static_cast<double>(start + cycle * samples_per_series + j);
}

double request_builder::value_for(std::uint64_t seed, std::uint64_t id, std::uint64_t cycle,
                                  std::uint32_t samples_per_series, std::uint32_t j) const {
    const double v = sample_value(seed, id, cycle, samples_per_series, j);
    if (!set_.templated()) return v;
    // Recorded traffic: about half the series count (integers), the others measure (doubles
    // with every mantissa bit used), which is what makes real bodies compress as they do.
    const std::uint64_t h = mix64(mix64(seed) ^ mix64(id));
    if ((h & 1) == 0) return v;
    const std::uint64_t r = mix64(h ^ (cycle * samples_per_series + j));
    return v + static_cast<double>(r >> 11) * 0x1.0p-53;
}

std::int64_t request_builder::timestamp_for(std::uint64_t id, std::uint64_t cycle,
                                            std::uint32_t j) const {
    const std::int64_t t = timestamp_ms(cycle, j);
    // Recorded traffic: each target is scraped at its own offset within the interval.
    return set_.templated() ? t + static_cast<std::int64_t>(mix64(id) % k_sample_step_ms) : t;
}

std::int64_t request_builder::timestamp_ms(std::uint64_t cycle, std::uint32_t j) const {
    return requests_.timestamp_base_ms +
           static_cast<std::int64_t>(cycle * requests_.samples_per_series + j) * k_sample_step_ms;
}

void request_builder::fill_samples(std::size_t request, std::uint64_t cycle) {
    const std::uint64_t seed = set_.shape().seed;
    const std::uint32_t per = requests_.samples_per_series;
    const std::uint64_t lo = request * requests_.series_per_request;
    const std::uint64_t hi = lo + series_in(request);
    for (std::uint64_t slot = lo; slot < hi; ++slot) {
        const std::uint64_t id = set_.id_of(slot);
        for (std::uint32_t j = 0; j < per; ++j) {
            const double v = value_for(seed, id, cycle, per, j);
            const std::int64_t ts = timestamp_for(id, cycle, j);
            if (requests_.protocol == wire_protocol::prw) {
                prw_series_[slot].samples[j] = {v, ts};
            } else {
                proto::otlp_point& p = otlp_first_point_[slot][j];
                p.value = v;
                p.time_unix_nano = static_cast<std::uint64_t>(ts) * 1'000'000ULL;
            }
        }
    }
}

namespace {

// Calls leaf(message) for every submessage reached through the field numbers of `path`.
template <typename Leaf>
void walk(proto::bytes_view message, std::span<const std::uint32_t> path, const Leaf& leaf) {
    proto::wire_reader reader(message);
    proto::wire_field f;
    while (reader.next(f)) {
        if (f.type != proto::wire_type::len || f.number != path.front()) continue;
        if (path.size() == 1) {
            leaf(f.bytes);
        } else {
            walk(f.bytes, path.subspan(1), leaf);
        }
    }
}

void put_le64(char* at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(v >> (8 * i));
}

// WriteRequest.timeseries(1) -> TimeSeries.samples(2): Sample.value(1) double, .timestamp(2) int64.
constexpr std::array<std::uint32_t, 2> k_prw_sample_path{1, 2};
// ExportMetricsServiceRequest.resource_metrics(1) -> scope_metrics(2) -> metrics(2) -> gauge(5)
// -> data_points(1): NumberDataPoint.time_unix_nano(3) fixed64, .as_double(4) double.
constexpr std::array<std::uint32_t, 5> k_otlp_point_path{1, 2, 2, 5, 1};

}  // namespace

// Reads the sample sites out of one Sample (remote write) or NumberDataPoint (OTLP) message.
// Fields numbered below 16 have a one-byte key, so a varint's payload starts one byte into the
// field and a fixed64 payload is the field's last 8 bytes. Offsets count from `base`.
request_builder::sample_site request_builder::site_in(proto::bytes_view message,
                                                      const char* base) const {
    const bool prw = requests_.protocol == wire_protocol::prw;
    sample_site site;
    proto::wire_reader reader(message);
    proto::wire_field f;
    while (reader.next(f)) {
        const auto end_at = static_cast<std::uint32_t>(f.raw.data() + f.raw.size() - base);
        if (f.type == proto::wire_type::i64 && f.number == (prw ? 1U : 4U))
            site.value_at = end_at - 8;
        if (prw && f.number == 2 && f.type == proto::wire_type::varint) {
            site.timestamp_at = static_cast<std::uint32_t>(f.raw.data() + 1 - base);
            site.timestamp_size = static_cast<std::uint8_t>(f.raw.size() - 1);
        }
        if (!prw && f.number == 3 && f.type == proto::wire_type::i64) {
            site.timestamp_at = end_at - 8;
            site.timestamp_size = 8;
        }
    }
    return site;
}

void request_builder::locate(std::size_t request) {
    const std::string& raw = raw_[request];
    auto& sites = sites_[request];
    sites.clear();
    const auto leaf = [&](proto::bytes_view message) {
        sites.push_back(site_in(message, raw.data()));
    };
    if (requests_.protocol == wire_protocol::prw) {
        // WriteRequest.timeseries(1) -> TimeSeries.samples(2); and where each series begins.
        auto& bounds = bounds_[request];
        bounds.clear();
        proto::wire_reader reader(raw);
        proto::wire_field f;
        while (reader.next(f)) {
            bounds.push_back(static_cast<std::uint32_t>(f.raw.data() - raw.data()));
            walk(f.bytes, std::span<const std::uint32_t>(k_prw_sample_path).subspan(1), leaf);
        }
        bounds.push_back(static_cast<std::uint32_t>(raw.size()));
    } else {
        walk(raw, k_otlp_point_path, leaf);
    }
    if (sites.size() != series_in(request) * requests_.samples_per_series) {
        throw std::logic_error("request_builder: the encoded request has an unexpected shape");
    }
}

void request_builder::encode(std::size_t request) {
    if (requests_.protocol == wire_protocol::prw) {
        const std::span<const proto::owned_timeseries> series(
            prw_series_.data() + request * requests_.series_per_request,
            static_cast<std::size_t>(series_in(request)));
        proto::encode_remote_write_v1(series, {}, raw_[request]);
    } else {
        proto::encode_otlp_protobuf(
            std::span<const proto::otlp_resource>(&otlp_requests_[request], 1), raw_[request]);
    }
    locate(request);
}

// A WriteRequest is a plain sequence of TimeSeries fields, so a request whose series were partly
// replaced is rebuilt from the old bytes of the others and fresh encodings of the new ones; the
// sample sites move with their series. The samples are then set by patch().
void request_builder::splice(std::size_t request, scratch& sc) {
    const std::uint32_t per = requests_.samples_per_series;
    const std::uint64_t lo = request * requests_.series_per_request;
    const std::uint64_t count = series_in(request);
    const std::string& old_raw = raw_[request];
    const auto& old_bounds = bounds_[request];
    const auto& old_sites = sites_[request];
    sc.raw.clear();
    sc.bounds.clear();
    sc.sites.clear();
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto begin = static_cast<std::uint32_t>(sc.raw.size());
        sc.bounds.push_back(begin);
        if (slot_changed_[lo + i] == 0) {
            sc.raw.append(old_raw, old_bounds[i], old_bounds[i + 1] - old_bounds[i]);
            for (std::uint32_t j = 0; j < per; ++j) {
                sample_site site = old_sites[i * per + j];
                site.value_at = site.value_at - old_bounds[i] + begin;
                site.timestamp_at = site.timestamp_at - old_bounds[i] + begin;
                sc.sites.push_back(site);
            }
            continue;
        }
        slot_changed_[lo + i] = 0;
        proto::encode_remote_write_v1(
            std::span<const proto::owned_timeseries>(&prw_series_[lo + i], 1), {}, sc.fragment);
        sc.raw += sc.fragment;
        const std::size_t first = sc.sites.size();
        walk(sc.fragment, k_prw_sample_path, [&](proto::bytes_view message) {
            sc.sites.push_back(site_in(message, sc.fragment.data()));
        });
        for (std::size_t k = first; k < sc.sites.size(); ++k) {
            sc.sites[k].value_at += begin;
            sc.sites[k].timestamp_at += begin;
        }
    }
    sc.bounds.push_back(static_cast<std::uint32_t>(sc.raw.size()));
    if (sc.sites.size() != count * per) {
        throw std::logic_error("request_builder: a spliced series has an unexpected shape");
    }
    raw_[request].swap(sc.raw);
    bounds_[request].swap(sc.bounds);
    sites_[request].swap(sc.sites);
}

bool request_builder::patch(std::size_t request, std::uint64_t cycle) {
    const std::uint64_t seed = set_.shape().seed;
    const std::uint32_t per = requests_.samples_per_series;
    const std::uint64_t lo = request * requests_.series_per_request;
    const std::uint64_t hi = lo + series_in(request);
    char* base = raw_[request].data();
    const sample_site* site = sites_[request].data();
    for (std::uint64_t slot = lo; slot < hi; ++slot) {
        const std::uint64_t id = set_.id_of(slot);
        for (std::uint32_t j = 0; j < per; ++j, ++site) {
            put_le64(base + site->value_at,
                     std::bit_cast<std::uint64_t>(value_for(seed, id, cycle, per, j)));
            const auto ts = static_cast<std::uint64_t>(timestamp_for(id, cycle, j));
            if (requests_.protocol == wire_protocol::otlp) {
                put_le64(base + site->timestamp_at, ts * 1'000'000ULL);
                continue;
            }
            if (proto::wire_writer::varint_size(ts) != site->timestamp_size) return false;
            char* p = base + site->timestamp_at;
            std::uint64_t v = ts;
            while (v >= 0x80) {
                *p++ = static_cast<char>((v & 0x7fU) | 0x80U);
                v >>= 7;
            }
            *p = static_cast<char>(v);
        }
    }
    return true;
}

void request_builder::build_request(std::size_t r, std::uint64_t cycle, scratch& sc,
                                    std::string& out) {
    const bool prw = requests_.protocol == wire_protocol::prw;
    bool patched = false;
    if (built_any_ && changed_[r] == 0) {
        patched = patch(r, cycle);
    } else if (built_any_ && prw) {
        splice(r, sc);
        patched = patch(r, cycle);
    }
    if (!patched) {  // the first cycle, OTLP with replaced series, or a timestamp grew a byte
        const std::uint64_t lo = r * requests_.series_per_request;
        if (prw)
            std::fill_n(slot_changed_.begin() + static_cast<std::ptrdiff_t>(lo), series_in(r), 0);
        fill_samples(r, cycle);
        encode(r);
    }
    changed_[r] = 0;
    if (prw) {
        proto::snappy_encode(raw_[r], out);
    } else {
        out.assign(raw_[r]);
    }
}

std::uint64_t request_builder::build_next(std::vector<std::string>& out, unsigned threads) {
    if (built_any_) {
        for (const std::uint64_t slot : set_.advance()) {
            fill_labels(slot);
            changed_[slot / requests_.series_per_request] = 1;
            if (requests_.protocol == wire_protocol::prw) slot_changed_[slot] = 1;
        }
    }
    const std::uint64_t cycle = set_.cycle();
    out.resize(request_count_);
    // Requests are independent from here on: request r touches only its own slots, raw_[r],
    // sites_[r], bounds_[r], changed_[r] and out[r]; the series set is only read.
    threads = std::clamp<unsigned>(threads, 1,
                                   static_cast<unsigned>(std::max<std::size_t>(1, request_count_)));
    if (scratch_.size() < threads) scratch_.resize(threads);
    const auto work = [&](unsigned t) {
        for (std::size_t r = t; r < request_count_; r += threads)
            build_request(r, cycle, scratch_[t], out[r]);
    };
    std::vector<std::thread> helpers;
    for (unsigned t = 1; t < threads; ++t) helpers.emplace_back(work, t);
    work(0);
    for (auto& h : helpers) h.join();
    built_any_ = true;
    return cycle;
}

}  // namespace mg::loadgen
