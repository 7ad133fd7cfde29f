// Remote write 1.0 hot path: snappy decode + WriteRequest decode into a reused series_batch +
// the daemon's series identity (taken by the decoder from the wire bytes when they are the
// canonical encoding, else cardinality::series_hash_sorted over the decoded views), with and
// without snappy, and each part alone. 1000 series per request, __name__ plus 8 labels
// each. Results: docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cardinality/series_hash.h"
#include "protocol/compression.h"
#include "protocol/encode_kept.h"
#include "protocol/remote_write.h"
#include "protocol/series_batch.h"
#include "remote_write_request.h"

namespace {

using namespace mg::protocol;

std::string make_request(std::size_t series) {
    return mg::bench::make_remote_write_request(series);
}

// The daemon's own series identity, as the governor takes it: the decoder's, or the hash of the
// decoder's sorted views when it had none.
std::uint64_t series_hash(const series_view& s) {
    return s.has_identity ? s.identity
                          : mg::cardinality::series_hash_sorted(s.metric_name, s.labels);
}

void BM_remote_write_v1_decode_hash(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    std::string compressed, plain;
    snappy_encode(body, compressed);
    series_batch batch;
    std::uint64_t acc = 0;
    for (auto _ : state) {
        if (!snappy_decode(compressed, 64U << 20, plain).ok()) state.SkipWithError("snappy");
        if (!decode_remote_write_v1(plain, batch).ok()) state.SkipWithError("decode");
        for (std::size_t i = 0; i < batch.size(); ++i) acc ^= series_hash(batch[i]);
    }
    benchmark::DoNotOptimize(acc);
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(compressed.size()));
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_remote_write_v1_decode_hash)->Arg(1000);

// The same without snappy: the protobuf decode and the series hash alone (the snappy
// decompression is the library's cost, measured by BM_snappy_decode_only).
void BM_remote_write_v1_decode_hash_plain(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    series_batch batch;
    std::uint64_t acc = 0;
    for (auto _ : state) {
        if (!decode_remote_write_v1(body, batch).ok()) state.SkipWithError("decode");
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const series_view s = batch[i];
            acc ^= mg::cardinality::series_hash_sorted(s.metric_name, s.labels);
        }
    }
    benchmark::DoNotOptimize(acc);
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_remote_write_v1_decode_hash_plain)->Arg(1000);

// The hash alone over the decoded views of one request (label lengths vary from series to
// series, as in real traffic): what a series costs when the decoder gave no identity (OTLP,
// remote write 2.0, unsorted labels).
void BM_series_hash_decoded(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    series_batch batch;
    if (!decode_remote_write_v1(body, batch).ok()) state.SkipWithError("decode");
    std::uint64_t acc = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const series_view s = batch[i];
            acc ^= mg::cardinality::series_hash_sorted(s.metric_name, s.labels);
        }
    }
    benchmark::DoNotOptimize(acc);
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_series_hash_decoded)->Arg(1000);

void BM_remote_write_v1_decode_only(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    series_batch batch;
    for (auto _ : state) {
        if (!decode_remote_write_v1(body, batch).ok()) state.SkipWithError("decode");
        benchmark::DoNotOptimize(batch.size());
    }
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_remote_write_v1_decode_only)->Arg(1000);

void BM_snappy_decode_only(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    std::string compressed, plain;
    snappy_encode(body, compressed);
    for (auto _ : state) {
        if (!snappy_decode(compressed, 64U << 20, plain).ok()) state.SkipWithError("snappy");
        benchmark::DoNotOptimize(plain.data());
    }
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_snappy_decode_only)->Arg(1000);

void BM_remote_write_v1_encode_half(benchmark::State& state) {
    const std::string body = make_request(static_cast<std::size_t>(state.range(0)));
    series_batch batch;
    if (!decode_remote_write_v1(body, batch).ok()) state.SkipWithError("decode");
    std::vector<std::uint8_t> keep(batch.size());
    for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = i % 2 == 0 ? 1 : 0;
    std::string out, compressed;
    for (auto _ : state) {
        if (!encode_kept(batch, keep, out).ok()) state.SkipWithError("encode");
        snappy_encode(out, compressed);
        benchmark::DoNotOptimize(compressed.data());
    }
    state.counters["series/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_remote_write_v1_encode_half)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
