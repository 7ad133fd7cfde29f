// Prometheus remote write 1.0 (prometheus.WriteRequest) and 2.0 (io.prometheus.write.v2.Request)
// decoders and encoders over decompressed protobuf bodies. Message definitions are written here
// from the public specs (docs/protocols.md lists the fields used); no generated code.
//
// Decoders fill a series_batch (see series_batch.h) with views into the body; they never throw
// for bad input and fail with errc::malformed and a message naming the series and the problem:
// invalid protobuf, invalid UTF-8 in a label name or value (or a 2.0 symbol), an empty label
// name, a duplicate label name, bad 2.0 symbol references. Unsorted labels are accepted: the
// views come out sorted and the encoders write them sorted.
//
// Encoders:
//   - *_subset(batch, keep, out) build a request with the kept series of one decoded request;
//   - remote_write_v1_writer / remote_write_v2_writer merge series from several decoded
//     requests into one upstream request (the exporter's batches).
// Requests built from scratch (tests, benchmarks, the load generator) are in
// remote_write_builder.h, a library of their own that the daemon does not link.
// All functions are pure; the writers are single-threaded value objects.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "protocol/series_batch.h"
#include "protocol/status.h"

namespace mg::protocol {

// ---- Decoding ----

// Remote write 1.0. Series = WriteRequest.timeseries; metadata entries are counted, kept raw.
decode_status decode_remote_write_v1(bytes_view body, series_batch& out);

// Remote write 2.0. Symbols are validated once (UTF-8, the first one empty); label, exemplar and
// metadata references are checked against the table.
decode_status decode_remote_write_v2(bytes_view body, series_batch& out);

// ---- Encoding kept series ----

// Appends WriteRequest fields for the kept series of a 1.0 or 2.0 batch to `out`, plus (for a 1.0
// source) the request's metadata entries. 1.0 series are copied byte for byte unless their labels
// had to be sorted (then labels are rewritten, samples/exemplars/histograms still copied raw); 2.0
// series are converted (labels and exemplar labels resolved, samples and histograms copied raw:
// their field numbers match in both versions, metadata becomes a 1.0 MetricMetadata entry).
decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out);
// Same, removing from each kept series i the labels strip_masks[i] selects (see
// encode_kept() in encode_kept.h); strip_masks empty or of batch.size() entries.
decode_status encode_remote_write_v1_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out);

// Builds a 2.0 Request with the kept series of a 2.0 batch. The symbol table is rebuilt from the
// kept series (see remote_write_v2_writer for why).
decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep, std::string& out);
decode_status encode_remote_write_v2_subset(const series_batch& batch,
                                            std::span<const std::uint8_t> keep,
                                            std::span<const std::uint64_t> strip_masks,
                                            std::string& out);

// Accumulates series from any number of decoded 1.0/2.0 batches into one 1.0 WriteRequest.
// Appends to `out` directly (a WriteRequest is just a sequence of fields).
class remote_write_v1_writer {
  public:
    explicit remote_write_v1_writer(std::string& out) : out_(out) {}
    // Appends series i of batch (remote write 1.0 or 2.0 source). A 2.0 series' metadata becomes
    // a MetricMetadata entry, once per metric family. Fails only on a changed body.
    decode_status add_series(const series_batch& batch, std::size_t i) {
        return add_series(batch, i, 0);
    }
    // Same, without the labels `strip_mask` selects (bit j = batch[i].labels[j], see
    // series_batch.h). Mask 0 is the raw-copy path above. A 1.0 series with a non-zero mask is
    // rewritten: its remaining Label fields are copied raw in wire order (or written sorted when
    // the wire order was not), samples, exemplars, histograms and unknown fields raw. Fails on a
    // changed body or a mask bit past the series' labels.
    decode_status add_series(const series_batch& batch, std::size_t i, std::uint64_t strip_mask);
    // Appends the MetricMetadata entries of a 1.0 batch's request.
    void add_metadata(const series_batch& batch);
    std::size_t series_count() const { return series_; }

  private:
    std::string& out_;
    std::unordered_set<std::string_view> md_families_;  // 2.0 metadata already emitted
    std::size_t series_ = 0;
};

// Accumulates series from any number of decoded 2.0 batches into one 2.0 Request.
// The symbol table is rebuilt rather than copied: an upstream batch mixes series of several
// requests whose tables differ, and a kept subset of a large request would otherwise carry every
// dropped series' strings. Label, exemplar and metadata references are rewritten; samples,
// histograms and unknown fields are copied raw. Views into the source bodies are held until
// finish(), so those bodies must stay alive until then.
class remote_write_v2_writer {
  public:
    remote_write_v2_writer();
    decode_status add_series(const series_batch& batch, std::size_t i) {
        return add_series(batch, i, 0);
    }
    // Same, without the labels `strip_mask` selects: their refs are not written and their
    // strings are interned only if another emitted series (or an exemplar/metadata) uses them.
    decode_status add_series(const series_batch& batch, std::size_t i, std::uint64_t strip_mask);
    // Writes the Request (symbols, then timeseries) to `out` (replaced) and resets the writer.
    void finish(std::string& out);
    std::size_t series_count() const { return series_; }

  private:
    std::uint32_t intern(std::string_view s);

    std::unordered_map<std::string_view, std::uint32_t> refs_;
    std::vector<std::string_view> symbols_;
    std::string timeseries_;
    std::vector<std::uint32_t> scratch_refs_;
    std::size_t series_ = 0;
};

}  // namespace mg::protocol
