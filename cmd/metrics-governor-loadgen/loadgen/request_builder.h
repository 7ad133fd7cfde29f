// request_builder: turns the series of a series_set into the request bodies of one cycle, in
// Prometheus remote write 1.0 (snappy-compressed WriteRequest) or OTLP/HTTP protobuf
// (ExportMetricsServiceRequest with gauge points), with the protocol module's encoders.
//
// Why bodies are built a whole cycle at a time: a load generator must not measure its own
// encoder. The runner builds the first cycles (as many as its memory budget holds) before the
// clock starts and the later ones on a builder thread while earlier ones are being sent, so
// encoding never sits between two requests of a connection; the send path only writes prepared
// bytes.
//
// Why a cycle costs little more than snappy: from one cycle to the next only the samples (value,
// timestamp) change, plus the labels of the round(churn * N) replaced series. The builder keeps
// the encoder's input (one owned_timeseries per slot for remote write, one pre-shaped
// ExportMetricsServiceRequest per request for OTLP) and, per request, the uncompressed protobuf
// of the last cycle with the byte offsets of every sample's value and timestamp. Those bytes are
// overwritten in place (a double and a timestamp of unchanged size). When some series of a
// request were replaced, remote write re-encodes just those series (a WriteRequest is a plain
// sequence of TimeSeries fields, so the others' bytes are copied around them); OTLP, whose
// nested lengths would all change, encodes the request again. Encoding is done with the
// protocol module's encoders. Remote write bodies are then snappy-compressed, which is most of
// the remaining cost.
//
// Request r carries slots [r * S, min((r + 1) * S, N)); each series carries samples_per_series
// samples (OTLP: that many points) with timestamps base + (cycle * samples_per_series + j) * 1 s,
// so timestamps grow across cycles and the bodies are a function of (seed, shape, base) only.
//
// Thread-safety: none. One thread calls build_next() (which may split the requests between
// helper threads of its own); the bodies it wrote may be read by other threads once the caller
// has published them (the runner does so under its mutex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/series_set.h"
#include "protocol/otlp_builder.h"
#include "protocol/remote_write_builder.h"

namespace mg::loadgen {

enum class wire_protocol { prw, otlp };

// A fixed timestamp base (2023-11-14T22:13:20Z), so that runs are byte-for-byte repeatable.
inline constexpr std::int64_t k_fixed_timestamp_base_ms = 1'700'000'000'000;
inline constexpr std::int64_t k_sample_step_ms = 1000;

struct request_shape {
    wire_protocol protocol = wire_protocol::prw;
    std::uint64_t series_per_request = 1000;
    std::uint32_t samples_per_series = 1;
    std::int64_t timestamp_base_ms = k_fixed_timestamp_base_ms;
};

// HTTP headers a body of this protocol goes with.
std::string_view content_type(wire_protocol p);
std::string_view content_encoding(wire_protocol p);  // empty: none
std::string_view default_path(wire_protocol p);      // /api/v1/write, /v1/metrics

class request_builder {
  public:
    // `templ`: -shape (series_set.h); remote write only.
    request_builder(const series_shape& series, const request_shape& requests,
                    std::shared_ptr<const shape_template> templ = nullptr);

    const series_set& series() const { return set_; }
    std::size_t request_count() const { return request_count_; }
    std::uint64_t series_in(std::size_t request) const;
    std::uint64_t samples_in(std::size_t request) const {
        return series_in(request) * requests_.samples_per_series;
    }
    std::uint64_t samples_per_cycle() const { return set_.size() * requests_.samples_per_series; }

    // Builds the bodies of the next cycle (0 on the first call; each later call first churns the
    // series set) into `out`, resized to request_count(), with `threads` threads (the calling
    // one included; requests are split between them). Returns the cycle built. The bodies are
    // the same whatever the number of threads.
    std::uint64_t build_next(std::vector<std::string>& out, unsigned threads = 1);

    // The value of sample j of series `id` in `cycle`: a counter-like ramp per series.
    static double sample_value(std::uint64_t seed, std::uint64_t id, std::uint64_t cycle,
                               std::uint32_t samples_per_series, std::uint32_t j);

  private:
    // Where one sample's value (8 bytes, little-endian double) and timestamp (remote write: a
    // varint of timestamp_size bytes in ms; OTLP: 8 bytes little-endian in ns) sit in a request's
    // raw_.
    struct sample_site {
        std::uint32_t value_at = 0;
        std::uint32_t timestamp_at = 0;
        std::uint8_t timestamp_size = 0;
    };

    void fill_labels(std::uint64_t slot);
    void fill_samples(std::size_t request, std::uint64_t cycle);
    // Encodes the whole request from the owned data into raw_, then locate().
    void encode(std::size_t request);
    // Finds the sample sites (and, for remote write, the series bounds) in raw_.
    void locate(std::size_t request);
    sample_site site_in(protocol::bytes_view sample_message, const char* base) const;
    // Per building thread.
    struct scratch {
        std::string raw, fragment;
        std::vector<std::uint32_t> bounds;
        std::vector<sample_site> sites;
    };
    // Remote write: re-encodes only the replaced series of the request (see the .cpp).
    void splice(std::size_t request, scratch& sc);
    void build_request(std::size_t request, std::uint64_t cycle, scratch& sc, std::string& out);
    // Overwrites the samples of the request in raw_ for `cycle`; false when a timestamp no longer
    // fits its old size (then the request is encoded again).
    bool patch(std::size_t request, std::uint64_t cycle);
    std::int64_t timestamp_ms(std::uint64_t cycle, std::uint32_t j) const;
    // What a series sends: sample_value() and timestamp_ms(), with a shape template (-shape)
    // doubles for about half the series and a per-series scrape offset, as recorded traffic has.
    double value_for(std::uint64_t seed, std::uint64_t id, std::uint64_t cycle,
                     std::uint32_t samples_per_series, std::uint32_t j) const;
    std::int64_t timestamp_for(std::uint64_t id, std::uint64_t cycle, std::uint32_t j) const;

    series_set set_;
    request_shape requests_;
    std::size_t request_count_ = 0;
    bool built_any_ = false;
    // Remote write: one time series per slot, labels[0] = __name__, then the sorted labels.
    std::vector<protocol::owned_timeseries> prw_series_;
    std::vector<owned_label> template_scratch_;  // -shape: one series' labels
    // OTLP: one request (resource -> scope -> metrics) per request; per slot its first point.
    std::vector<protocol::otlp_resource> otlp_requests_;
    std::vector<protocol::otlp_point*> otlp_first_point_;
    // Per request: the uncompressed protobuf of the last cycle built, its sample sites in slot
    // order, and whether a slot of it was replaced since.
    std::vector<std::string> raw_;
    std::vector<std::vector<sample_site>> sites_;
    std::vector<std::vector<std::uint32_t>> bounds_;  // remote write: series i is [b[i], b[i+1])
    std::vector<std::uint8_t> changed_;
    std::vector<std::uint8_t> slot_changed_;  // remote write, per slot: replaced since last built
    std::vector<scratch> scratch_;
};

}  // namespace mg::loadgen
