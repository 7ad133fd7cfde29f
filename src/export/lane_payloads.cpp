#include "export/lane_payloads.h"

#include <cstdint>
#include <optional>

#include "export/shard_split.h"
#include "protocol/encode_kept.h"
#include "protocol/remote_write.h"

namespace mg::exporter {

namespace {

// Scratch buffers of the OTLP -> remote write conversion, one set per ingest thread.
protocol::otlp_to_prw_converter& thread_converter() {
    thread_local protocol::otlp_to_prw_converter c;
    return c;
}

// Adds one conversion's counts to a request's total (a request split over lanes converts once
// per lane).
void add_conversion(protocol::prw_conversion_result& total,
                    protocol::prw_conversion_result&& part) {
    total.series += part.series;
    total.samples += part.samples;
    total.histograms += part.histograms;
    total.points_converted += part.points_converted;
    for (std::size_t i = 0; i < total.dropped.size(); ++i) total.dropped[i] += part.dropped[i];
    if (total.first_drop.empty()) total.first_drop = std::move(part.first_drop);
}

// Runs encode_lane(lane_keep, where) once per lane used (once with `keep` when all the series
// travel one lane), until one fails.
template <typename Status, typename EncodeLane>
Status for_each_lane(std::span<const std::uint8_t> keep, lane_split& lanes,
                     EncodeLane&& encode_lane) {
    const auto& used = lanes.used();
    if (used.size() == 1) return encode_lane(keep, lane_ref{used.front(), lanes.epoch()});
    Status st;
    for (const auto lane : used) {
        if (st = encode_lane(lanes.keep_for(lane, keep), lane_ref{lane, lanes.epoch()}); !st) break;
    }
    return st;
}

}  // namespace

protocol::decode_status encode_prw(const protocol::series_batch& batch,
                                   std::span<const std::uint8_t> keep,
                                   std::span<const std::uint64_t> strip, lane_split& lanes,
                                   lane_payloads& out) {
    protocol::decode_status st;
    const auto& used = lanes.used();
    if (used.size() <= 1) {
        payload p;
        p.format = payload_format::prw_v1;
        protocol::remote_write_v1_writer w(p.body);
        for (std::size_t i = 0; i < keep.size() && st.ok(); ++i) {
            if (keep[i] == 0) continue;
            st = strip.empty() ? w.add_series(batch, i) : w.add_series(batch, i, strip[i]);
            ++p.series;
            p.points += batch[i].points();
        }
        if (st.ok()) w.add_metadata(batch);
        out.emplace_back(std::move(p), lane_ref{used.empty() ? 0 : used.front(), lanes.epoch()});
        return st;
    }
    // Index of each used lane's payload in `out`; writers append to those bodies.
    const std::size_t first = out.size();
    std::vector<std::size_t> slot(used.back() + 1, SIZE_MAX);
    for (const auto lane : used) {
        slot[lane] = out.size();
        payload p;
        p.format = payload_format::prw_v1;
        out.emplace_back(std::move(p), lane_ref{lane, lanes.epoch()});
    }
    std::vector<std::optional<protocol::remote_write_v1_writer>> writers(out.size() - first);
    for (std::size_t k = 0; k < writers.size(); ++k) writers[k].emplace(out[first + k].first.body);
    for (std::size_t i = 0; i < keep.size() && st.ok(); ++i) {
        if (keep[i] == 0) continue;
        const std::size_t k = slot[lanes.lane_of(i)];
        auto& w = *writers[k - first];
        st = strip.empty() ? w.add_series(batch, i) : w.add_series(batch, i, strip[i]);
        ++out[k].first.series;
        out[k].first.points += batch[i].points();
    }
    // Metadata is about metric families, not series: it travels with the first lane.
    if (st.ok() && !writers.empty()) writers.front()->add_metadata(batch);
    return st;
}

protocol::decode_status encode_otlp(const protocol::series_batch& batch,
                                    std::span<const std::uint8_t> keep,
                                    std::span<const std::uint64_t> strip, lane_split& lanes,
                                    lane_payloads& out) {
    const auto format = batch.protocol() == protocol::source_protocol::otlp_json
                            ? payload_format::otlp_json
                            : payload_format::otlp_protobuf;
    auto encode_lane = [&](std::span<const std::uint8_t> lane_keep, lane_ref where) {
        payload p;
        p.format = format;
        for (std::size_t i = 0; i < lane_keep.size(); ++i) {
            if (lane_keep[i] == 0) continue;
            ++p.series;
            p.points += batch[i].points();
        }
        auto r = protocol::encode_kept(batch, lane_keep, strip, p.body);
        out.emplace_back(std::move(p), where);
        return r;
    };
    return for_each_lane<protocol::decode_status>(keep, lanes, encode_lane);
}

status convert_to_prw(const protocol::series_batch& batch, std::span<const std::uint8_t> keep,
                      std::span<const std::uint64_t> strip,
                      const protocol::prw_conversion_options& options, lane_split& lanes,
                      lane_payloads& out, protocol::prw_conversion_result& result) {
    auto convert_lane = [&](std::span<const std::uint8_t> lane_keep, lane_ref where) -> status {
        payload p;
        p.format = payload_format::prw_v1;
        protocol::prw_conversion_result part;
        if (auto st = thread_converter().convert(batch, lane_keep, strip, p.body, part, options);
            !st)
            return make_error(st.error_message());
        p.series = part.series;
        p.points = part.samples + part.histograms;
        if (p.series != 0) out.emplace_back(std::move(p), where);
        add_conversion(result, std::move(part));
        return {};
    };
    return for_each_lane<status>(keep, lanes, convert_lane);
}

}  // namespace mg::exporter
