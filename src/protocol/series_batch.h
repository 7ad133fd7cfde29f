// series_batch: the protocol-independent view of one decoded request that the ingest layer and
// the governor consume, whatever the sender spoke (remote write 1.0/2.0, OTLP protobuf/JSON).
//
// A batch is a list of series. For remote write a series is one TimeSeries message; for OTLP it
// is one data point (the governor decides per point). Each series exposes:
//   - metric_name: `__name__` for remote write, Metric.name for OTLP;
//   - labels: the other label pairs, sorted by name, unique, never containing `__name__`
//     (for OTLP: resource + scope + point attributes flattened, see docs/protocols.md);
//   - samples / histograms / exemplars: what the series carries, for the datapoint counters and
//     the X-Prometheus-Remote-Write-*-Written headers;
//   - raw: the bytes of the whole TimeSeries / data point field in the request body (empty for
//     OTLP/JSON), which encoders copy instead of re-encoding samples.
// The output for a kept subset is built by encode_kept() (encode_kept.h) or, to merge series
// from several requests into one upstream batch, by the per-protocol writers. This file knows
// no protocol: the decoders and encoders of the module build on it, never the other way round.
//
// Ownership and lifetime: names and values are views into the request body (or the symbols
// table, or for OTLP values rendered to text, into the batch's own arena). The body passed to the
// decoder must outlive every use of the batch and of the views it hands out.
//
// Allocation: labels of all series live in one flat vector, series in another; clear() keeps
// their capacity, so a batch reused across requests (one per connection or per thread) decodes
// without per-series or per-label heap allocation once warmed up.
//
// Thread-safety: none; one request, one thread. Views are read-only and may be read by several
// threads while nobody decodes into the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/label_view.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace mg::protocol {

class otlp_json_document;

using label_view = mg::label_view;  // common/label_view.h

enum class source_protocol : std::uint8_t {
    none,
    remote_write_v1,
    remote_write_v2,
    otlp_protobuf,
    otlp_json
};

// OTLP metric type of a data point; unknown for remote write.
enum class metric_kind : std::uint8_t {
    unknown,
    gauge,
    sum,
    histogram,
    exponential_histogram,
    summary
};

struct series_view {
    std::string_view metric_name;
    std::span<const label_view> labels;  // sorted by name, unique, without __name__
    std::uint32_t samples = 0;           // float samples (OTLP: 1 for a gauge/sum point)
    std::uint32_t histograms = 0;  // native histograms (OTLP: 1 for a histogram/exp/summary point)
    std::uint32_t exemplars = 0;
    metric_kind kind = metric_kind::unknown;
    // The series' identity (cardinality::series_hash_sorted of metric_name and labels) when the
    // decoder could take it from the wire bytes for free; otherwise has_identity is false and the
    // consumer hashes the views.
    bool has_identity = false;
    std::uint64_t identity = 0;

    std::uint32_t points() const { return samples + histograms; }
};

// Where one series sits in the batch and in the body. Public for the encoders and for callers
// that forward raw spans themselves (the remote-write 1.0 batching fast path).
struct series_entry {
    std::string_view metric_name;
    std::uint32_t label_begin = 0;
    std::uint32_t label_count = 0;
    std::uint32_t samples = 0;
    std::uint32_t histograms = 0;
    std::uint32_t exemplars = 0;
    metric_kind kind = metric_kind::unknown;
    // The labels were not strictly sorted on the wire: encoders write them sorted instead of
    // copying the original label fields.
    bool wire_labels_unsorted = false;
    bool has_identity = false;  // see series_view
    std::uint64_t identity = 0;
    bytes_view raw;  // whole field (key + length + payload) in the body; empty for JSON
    // OTLP protobuf: the point's Metric.unit (empty when absent or not valid UTF-8); empty for
    // the other protocols (OTLP/JSON's overflow series go as remote write, without one).
    // For the overflow series folded from OTLP, which carry it on (overflow/overflow_store.h).
    std::string_view unit;
};

// Chunked storage for strings the batch has to own (OTLP attribute values rendered to text).
// Views stay valid until clear(); clear() keeps the chunks for reuse.
class string_arena {
  public:
    std::string_view store(std::string_view s);
    void clear() {
        chunk_ = 0;
        used_ = 0;
    }

  private:
    static constexpr std::size_t k_chunk = 16 * 1024;
    struct chunk {
        std::unique_ptr<char[]> data;
        std::size_t size;
    };
    std::vector<chunk> chunks_;
    std::size_t chunk_ = 0;  // current chunk index
    std::size_t used_ = 0;   // bytes used in the current chunk
};

class series_batch {
  public:
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    series_view operator[](std::size_t i) const {
        const series_entry& e = entries_[i];
        return series_view{
            e.metric_name,
            std::span<const label_view>(labels_.data() + e.label_begin, e.label_count),
            e.samples,
            e.histograms,
            e.exemplars,
            e.kind,
            e.has_identity,
            e.identity};
    }
    const series_entry& entry(std::size_t i) const { return entries_[i]; }

    source_protocol protocol() const { return protocol_; }
    bytes_view body() const { return body_; }
    std::uint64_t total_samples() const { return total_samples_; }
    std::uint64_t total_histograms() const { return total_histograms_; }
    std::uint64_t total_exemplars() const { return total_exemplars_; }
    std::uint64_t total_points() const { return total_samples_ + total_histograms_; }
    // Some series had unsorted labels: forwarding the original body verbatim would forward them
    // unsorted, so the "nothing dropped, forward the body" fast path must re-encode instead.
    bool any_labels_unsorted() const { return any_unsorted_; }
    // Remote write 2.0: the request's symbol table (index 0 is the empty string).
    std::span<const std::string_view> symbols() const { return symbols_; }
    // OTLP/JSON: the parsed document the views point into (null otherwise).
    const otlp_json_document* json_document() const { return json_doc_; }

    // Forgets the content, keeps the capacity.
    void clear();

    // ---- Building (used by the decoders of this module) ----
    void reset(source_protocol p, bytes_view body) {
        clear();
        protocol_ = p;
        body_ = body;
    }
    std::uint32_t label_mark() const { return static_cast<std::uint32_t>(labels_.size()); }
    void push_label(label_view l) { labels_.push_back(l); }
    void push_labels(std::span<const label_view> ls) {
        labels_.insert(labels_.end(), ls.begin(), ls.end());
    }
    std::span<label_view> labels_since(std::uint32_t mark) {
        return std::span<label_view>(labels_.data() + mark, labels_.size() - mark);
    }
    void truncate_labels(std::uint32_t mark) { labels_.resize(mark); }
    void push_series(const series_entry& e) {
        entries_.push_back(e);
        total_samples_ += e.samples;
        total_histograms_ += e.histograms;
        total_exemplars_ += e.exemplars;
        any_unsorted_ = any_unsorted_ || e.wire_labels_unsorted;
    }
    std::vector<std::string_view>& mutable_symbols() { return symbols_; }
    string_arena& arena() { return arena_; }
    void set_json_document(const otlp_json_document* d) { json_doc_ = d; }

  private:
    std::vector<series_entry> entries_;
    std::vector<label_view> labels_;
    std::vector<std::string_view> symbols_;
    string_arena arena_;
    bytes_view body_;
    const otlp_json_document* json_doc_ = nullptr;
    std::uint64_t total_samples_ = 0;
    std::uint64_t total_histograms_ = 0;
    std::uint64_t total_exemplars_ = 0;
    source_protocol protocol_ = source_protocol::none;
    bool any_unsorted_ = false;
};

// Validity of UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). ASCII fast path.
bool valid_utf8(std::string_view s);

// Sorts labels by name unless the caller knows they are strictly sorted already, then looks for
// duplicate names: returns false and sets `duplicate` to the repeated name if there is one.
bool normalize_labels(std::span<label_view> labels, bool sorted, std::string_view& duplicate);

// ---- Stripping labels from kept series (limits: label_limit_action: strip) ----
//
// A strip mask removes labels from one series on output: bit j set removes batch[i].labels[j],
// i.e. it indexes the SORTED view without `__name__`, not the wire order. Only the first 64
// labels of a series can be addressed; `__name__` can never be removed. Labels are matched by
// name when the encoders walk the original request, so unsorted wire input is handled. Two
// series that become identical after stripping are both emitted (the proxy does not merge
// samples): the backend sees the samples of both under one series.

// Whether `mask` removes the label called `name` from a series whose sorted view is `labels`.
bool strip_mask_removes(std::span<const label_view> labels, std::uint64_t mask,
                        std::string_view name);

// Fails (malformed) when `mask` has a bit set at or past the series' label count.
decode_status check_strip_mask(const series_batch& batch, std::size_t i, std::uint64_t mask);

// Validates the masks passed with a keep vector: empty (no stripping) or one per series, and
// check_strip_mask() for every kept series. Sets `any` when a kept series has a non-zero mask.
decode_status check_strip_masks(const series_batch& batch, std::span<const std::uint8_t> keep,
                                std::span<const std::uint64_t> strip_masks, bool& any);

}  // namespace mg::protocol
