// Writes the seed corpora of tests/fuzz/corpus/ from valid inputs built with the project's own
// encoders (and the test builders of tests/shared/), so the seeds follow the formats as the code
// writes them. Run by hand when a format changes (tests/fuzz/README.md):
//   build/debug/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
// The config and limits seeds are the example files of config/ plus the effective config; this
// tool only writes the others. Output is deterministic.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cardinality/bloom_tracker.h"
#include "common/clock.h"
#include "config/config.h"
#include "increment_base.h"
#include "otlp_builder.h"
#include "persistence/increment_codec.h"
#include "persistence/meta_index.h"
#include "persistence/overflow_state_file.h"
#include "persistence/tracker_codec.h"
#include "protocol/compression.h"
#include "protocol/otlp.h"
#include "protocol/otlp_builder.h"
#include "protocol/otlp_json.h"
#include "protocol/remote_write_builder.h"

namespace {

namespace fs = std::filesystem;
namespace mp = mg::protocol;
std::string root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
    const fs::path dir = fs::path(root) / target;
    fs::create_directories(dir);
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
        std::exit(1);
    }
}

std::vector<mp::owned_timeseries> rw_series() {
    std::vector<mp::owned_timeseries> s(3);
    s[0].labels = {
        {"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}};  // unsorted
    s[0].samples = {{1.5, 1700000000000}, {2.5, 1700000015000}};
    s[0].exemplars = {{{{"trace_id", "abc123"}}, 1.0, 1700000000001}};
    s[0].metadata_type = 1;
    s[0].help = "Requests served.";
    s[0].unit = "requests";
    s[1].labels = {{"__name__", "latency_seconds"}, {"env", "prod"}, {"instance", "h1:9100"}};
    s[1].histograms = {{10, 3.25, 0, 1700000000000}};
    s[2].labels = {{"__name__", "up"}, {"job", "node"}, {"zone", "\xc3\xa9t\xc3\xa9"}};
    s[2].samples = {{1, 1700000000000}};
    return s;
}

void remote_write() {
    const auto series = rw_series();
    std::vector<mp::owned_metadata> md = {{1, "http_requests_total", "Requests served.", ""}};
    std::string v1, v1_one, v2, v2_one, empty;
    mp::encode_remote_write_v1(series, md, v1);
    mp::encode_remote_write_v1(std::span(series).first(1), {}, v1_one);
    mp::encode_remote_write_v2(series, v2);
    mp::encode_remote_write_v2(std::span(series).subspan(2), v2_one);
    put("prw1_decode", "three_series_metadata", v1);
    put("prw1_decode", "one_series_exemplar", v1_one);
    put("prw1_decode", "empty", empty);
    put("prw2_decode", "three_series_metadata", v2);
    put("prw2_decode", "one_series", v2_one);
    put("prw2_decode", "empty", empty);

    // Native histograms as the overflow side reads them (overflow_checks.h): integer form with
    // two spans, float form with a negative bucket, one series twice (an increase, then a reset).
    std::vector<mp::owned_timeseries> hs(2);
    hs[0].labels = {{"__name__", "rpc_seconds"}, {"id", "1"}};
    mp::owned_histogram a;
    a.schema = 2;
    a.count = 9;
    a.sum = 4.5;
    a.zero_threshold = 1e-3;
    a.zero_count = 1;
    a.positive_spans = {{-1, 2}, {3, 1}};
    a.positive_deltas = {3, -1, 3};
    a.timestamp_ms = 1700000000000;
    mp::owned_histogram b = a;
    b.count = 4;
    b.positive_deltas = {1, 0, 1};
    b.timestamp_ms = 1700000015000;
    hs[0].histograms = {a, b};
    hs[1].labels = {{"__name__", "rpc_seconds"}, {"id", "2"}};
    mp::owned_histogram f;
    f.float_form = true;
    f.schema = -1;
    f.count_float = 2.5;
    f.sum = -1;
    f.negative_spans = {{0, 1}};
    f.negative_counts = {2.5};
    f.timestamp_ms = 1700000000000;
    hs[1].histograms = {f};
    std::string h1, h2;
    mp::encode_remote_write_v1(hs, {}, h1);
    mp::encode_remote_write_v2(hs, h2);
    put("prw1_decode", "native_histograms", h1);
    put("prw2_decode", "native_histograms", h2);

    std::string packed;
    mp::snappy_encode(v1, packed);
    put("snappy_decode", "remote_write_v1", packed);
    mp::snappy_encode(v2, packed);
    put("snappy_decode", "remote_write_v2", packed);
    mp::snappy_encode(std::string(300, 'a') + "abcabcabcabc", packed);  // copies with offsets
    put("snappy_decode", "repeats", packed);
    mp::snappy_encode("", packed);
    put("snappy_decode", "empty", packed);
}

std::vector<mp::otlp_resource> owned_otlp() {
    using av = mp::otlp_any_value;
    mp::otlp_any_value arr;
    arr.k = av::kind::array;
    arr.array = {av::str("a"), av::integer(-3), av::dbl(0.5), av::boolean(true)};
    mp::otlp_any_value kvl;
    kvl.k = av::kind::kvlist;
    kvl.kvlist = {{"z", av::str("last")}, {"a", av::bytes("\x01\x02")}};
    mp::otlp_resource r;
    r.attributes = {{"service.name", av::str("checkout")},
                    {"service.instance.id", av::str("i-1")},
                    {"host.cpus", av::integer(8)}};
    mp::otlp_scope s;
    s.name = "io.opentelemetry.runtime";
    s.version = "1.2.0";
    s.attributes = {{"lib", av::str("x")}};
    s.metrics = {
        {"http.server.duration",
         "Duration",
         "ms",
         mp::metric_kind::histogram,
         {{{{"http.method", av::str("GET")}, {"tags", arr}}, 12.5, 1700000000000000000ULL, 1}}},
        {"queue.size",
         "",
         "1",
         mp::metric_kind::gauge,
         {{{{"queue", av::str("q1")}}, 3, 1700000000000000000ULL, 0},
          {{{"queue", av::str("q2")}, {"meta", kvl}}, 4, 1700000000000000000ULL, 0}}},
        {"requests",
         "",
         "",
         mp::metric_kind::sum,
         {{{{"ok", av::boolean(true)}}, 10, 1700000000000000000ULL, 0}}},
    };
    r.scopes = {s};
    return {r};
}

std::vector<mg::test::otlp::resource> built_otlp() {
    namespace ob = mg::test::otlp;
    ob::point g;
    g.attrs = {{"cpu", "0"}};
    g.time_ns = 1700000000000000000ULL;
    g.as_double = 0.25;
    ob::point h = g;
    h.as_double.reset();
    h.count = 6;
    h.sum = 12.0;
    h.bounds = {1, 5};
    h.bucket_counts = {1, 2, 3};
    ob::point e = g;
    e.as_double.reset();
    e.count = 5;
    e.sum = 7.5;
    e.scale = 2;
    e.zero_count = 1;
    e.pos_offset = -1;
    e.pos_counts = {1, 2};
    e.neg_counts = {1};
    ob::point q = g;
    q.as_double.reset();
    q.count = 4;
    q.sum = 2.0;
    q.quantiles = {{0.5, 0.4}, {0.99, 0.9}};
    ob::point i = g;
    i.as_double.reset();
    i.as_int = 42;
    ob::resource r;
    r.attrs = {{"service.name", "api"}, {"service.namespace", "shop"}};
    ob::scope s;
    s.name = "meter";
    s.metrics = {
        {"cpu.load", mg::protocol::metric_kind::gauge, 2, true, false, {g}},
        {"bytes.sent", mg::protocol::metric_kind::sum, 2, true, true, {i}},
        {"req.latency", mg::protocol::metric_kind::histogram, 2, true, false, {h}},
        {"req.size", mg::protocol::metric_kind::exponential_histogram, 2, true, false, {e}},
        {"gc.pause", mg::protocol::metric_kind::summary, 0, true, false, {q}},
        {"delta.count", mg::protocol::metric_kind::sum, 1, false, false, {i}}};
    r.scopes = {s};
    return {r};
}

void otlp() {
    std::string pb;
    mp::encode_otlp_protobuf(owned_otlp(), pb);
    put("otlp_protobuf_decode", "attributes_of_every_kind", pb);
    const auto built = built_otlp();
    put("otlp_protobuf_decode", "every_point_kind", mg::test::otlp::to_protobuf(built));
    put("otlp_protobuf_decode", "empty", "");
    const auto json = mp::encode_otlp_json(owned_otlp());
    put("otlp_json_decode", "attributes_of_every_kind.json", json);
    put("otlp_json_decode", "every_point_kind.json", mg::test::otlp::to_json(built));
    put("otlp_json_decode", "empty.json", "{}");

    std::string gz;
    (void)mp::gzip_encode(pb, 6, gz);
    put("gzip_decode", "otlp_protobuf", gz);
    (void)mp::gzip_encode(json, 1, gz);
    put("gzip_decode", "otlp_json", gz);
    std::string a, b;
    (void)mp::gzip_encode("first member ", 9, a);
    (void)mp::gzip_encode("second member", 0, b);
    put("gzip_decode", "two_members", a + b);
    (void)mp::gzip_encode("", 6, gz);
    put("gzip_decode", "empty", gz);
}

void persistence() {
    mg::fake_clock clock;
    mg::cardinality::tracker_config cfg;
    cfg.expected_items = 64;  // a few blocks: seeds stay small
    cfg.fp_rate = 0.01;
    cfg.generations = 2;
    cfg.window = std::chrono::minutes(10);
    mg::cardinality::bloom_tracker t(cfg, clock);
    for (std::uint64_t s = 1; s <= 40; ++s) (void)t.insert(s * 0x9e3779b97f4a7c15ULL);
    clock.advance(std::chrono::minutes(6));  // into the second generation
    for (std::uint64_t s = 30; s <= 50; ++s) (void)t.insert(s * 0x9e3779b97f4a7c15ULL);
    const auto payload = mg::persistence::encode_tracker("fuzz_metric", t.snapshot());
    put("bloom_file", "two_generations.bloom", payload);
    put("bloom_file", "two_generations.bloom.gz", *mg::persistence::gzip_compress(payload, 1));
    mg::cardinality::bloom_tracker fresh(cfg, clock);
    put("bloom_file", "empty_tracker.bloom.gz",
        *mg::persistence::gzip_compress(
            mg::persistence::encode_tracker("fuzz_metric", fresh.snapshot()), 9));

    {
        // Increments of the increment_file target's base: a few new series, new slices, none.
        mg::fake_clock c;
        mg::cardinality::tracker_snapshot base;
        auto bt = mg::fuzz::increment_base_tracker(c, base);
        mg::persistence::increment_header h{"fuzz_metric", 1, 1};
        put("increment_file", "empty.inc",
            mg::persistence::encode_increment(h, *bt->take_delta(base.epoch, 1)));
        for (std::uint64_t s = 41; s <= 50; ++s) (void)bt->insert(s * 0x9e3779b97f4a7c15ULL);
        put("increment_file", "ten_series.inc.gz",
            *mg::persistence::gzip_compress(
                mg::persistence::encode_increment(h, *bt->take_delta(base.epoch, 1)), 1));
        for (std::uint64_t s = 51; s <= 400; ++s) (void)bt->insert(s * 0x9e3779b97f4a7c15ULL);
        put("increment_file", "new_slices_chunks_of_4.inc",
            mg::persistence::encode_increment(h, *bt->take_delta(base.epoch, 4)));
    }

    mg::persistence::meta_index idx;
    const auto when = std::chrono::system_clock::time_point{std::chrono::seconds(1700000000)};
    mg::persistence::tracker_meta m;
    m.key = "stats:metric:http_requests_total";
    m.hash = mg::persistence::sha256_hex(m.key);
    m.count = 1234;
    m.last_updated = m.last_saved = m.created_at = when;
    m.checksum = 0xdeadbeef;
    m.size_bytes = 4096;
    idx.trackers[m.key] = m;
    put("meta_json", "one_entry.json", mg::persistence::to_json(idx));
    m.key = "stats:label:http_requests_total:user_id";
    m.hash = mg::persistence::sha256_hex(m.key);
    m.previous_checksum = 7;
    m.format = 1;
    m.compressed = false;
    m.generations = 3;
    m.window = std::chrono::hours(1);
    m.window_start = when - std::chrono::minutes(20);
    m.memory_bytes = 65536;
    idx.trackers[m.key] = m;
    put("meta_json", "two_entries_extensions.json", mg::persistence::to_json(idx));
    // Generation files and increments of the head.
    m.key = "stats:metric:layered";
    m.hash = mg::persistence::sha256_hex(m.key);
    m.previous_checksum.reset();
    mg::persistence::layer_set layers;
    layers.base_checksum = m.checksum;
    layers.head = {7, 0x1234, 900, true};
    layers.frozen = {{5, 0x5678, 30000, true}, {}};
    m.layers = layers;
    m.increments = {{1, 0x1234, 0x9abc, 120, true}};
    idx.trackers[m.key] = m;
    put("meta_json", "three_entries_layers.json", mg::persistence::to_json(idx));
    put("meta_json", "empty_index.json", mg::persistence::to_json({}));
}

void overflow_state() {
    // Every kind of overflow series, as a clean stop writes them (before gzip).
    namespace ov = mg::overflow;
    ov::series_state c;
    c.key = "0:7:c_total8:overflow";
    c.metric_name = "c_total";
    c.labels = {{"overflow", "true"}};
    c.delta = true;
    c.interval_ms = 15000;
    c.zero_emitted = true;
    c.max_tracked = 100;
    c.total = 42;
    c.counter_last = {{1, 7}, {2, 9}};
    ov::series_state g = c;
    g.key = "0:1:g8:overflow";
    g.kind = ov::fold_kind::gauge;
    g.counter_last.clear();
    g.gauge_latest = {{3, {1.5, 1700000000000}}};
    ov::series_state h = c;
    h.key = "0:1:h8:overflow";
    h.kind = ov::fold_kind::histogram;
    h.counter_last.clear();
    h.histogram_has_layout = true;
    h.histogram_total.schema = 1;
    h.histogram_total.count = 3;
    h.histogram_total.positive = {{1, 2}, {3, 1}};
    h.histogram_last = {{4, h.histogram_total}};
    ov::series_state x = c;
    x.key = "0:1:x8:overflow";
    x.kind = ov::fold_kind::explicit_histogram;
    x.from_otlp = true;
    x.unit = "ms";
    x.counter_last.clear();
    x.explicit_has_bounds = true;
    x.explicit_total = {{0.5, 1}, {1, 2, 3}, 6, 4.25};
    x.explicit_last = {{5, x.explicit_total}};
    // four_kinds_v1.bin and empty_v1.bin beside these are the same of version 1 (before units),
    // written by the build of that version and kept: the reading of an older file is fuzzed too.
    put("overflow_state", "four_kinds.bin", mg::persistence::encode_overflow_state({c, g, h, x}));
    put("overflow_state", "empty.bin", mg::persistence::encode_overflow_state({}));
}

void config() {
    const char* argv[] = {"metrics-governor", "-show-effective-config"};
    put("config_yaml", "effective_defaults.yaml", mg::config::parse_command_line(2, argv).output);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    remote_write();
    otlp();
    persistence();
    overflow_state();
    config();
    std::printf("seeds written under %s\n", root.c_str());
    return 0;
}
