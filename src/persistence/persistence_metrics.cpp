// The bloom_persistence_* metric families (see persistence_metrics.h).
#include "persistence/persistence_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace mg::persistence {

persistence_metrics::persistence_metrics(const std::shared_ptr<prometheus::Registry>& registry) {
    if (!registry) return;
    auto& r = *registry;
    auto& saves =
        prometheus::BuildCounter()
            .Name("bloom_persistence_saves_total")
            .Help("Total save operations (success/error): one per tracker file written or refused.")
            .Register(r);
    saves_ok_ = &saves.Add({{"status", "success"}});
    saves_error_ = &saves.Add({{"status", "error"}});
    auto& loads = prometheus::BuildCounter()
                      .Name("bloom_persistence_loads_total")
                      .Help(
                          "Total load operations (success/error): one per tracker file restored or "
                          "skipped as bad.")
                      .Register(r);
    loads_ok_ = &loads.Add({{"status", "success"}});
    loads_error_ = &loads.Add({{"status", "error"}});
    cleanups_ = &prometheus::BuildCounter()
                     .Name("bloom_persistence_cleanups_total")
                     .Help("Total cleanup runs.")
                     .Register(r)
                     .Add({});
    auto& ev = prometheus::BuildCounter()
                   .Name("bloom_persistence_evictions_total")
                   .Help("Trackers removed (ttl/size/memory), from memory and disk.")
                   .Register(r);
    evict_ttl_ = &ev.Add({{"reason", "ttl"}});
    evict_size_ = &ev.Add({{"reason", "size"}});
    evict_memory_ = &ev.Add({{"reason", "memory"}});
    recreated_ =
        &prometheus::BuildCounter()
             .Name("bloom_persistence_directory_recreated_total")
             .Help("Times the state directory was found missing by a save and created again.")
             .Register(r)
             .Add({});
    set_aside_ = &prometheus::BuildCounter()
                      .Name("bloom_persistence_files_set_aside_total")
                      .Help(
                          "Tracker files that did not decode while the index was rebuilt, moved to "
                          "unreadable/.")
                      .Register(r)
                      .Add({});
    recovered_ =
        &prometheus::BuildCounter()
             .Name("bloom_persistence_index_recovered_total")
             .Help("Index entries rebuilt from tracker files (meta.json malformed or entries bad).")
             .Register(r)
             .Add({});
    auto& written = prometheus::BuildCounter()
                        .Name("bloom_persistence_written_bytes_total")
                        .Help(
                            "Bytes of tracker files written by saves, by kind: snapshot (a whole "
                            "tracker) or increment (the changed chunks of its current generation).")
                        .Register(r);
    written_snapshot_ = &written.Add({{"kind", "snapshot"}});
    written_increment_ = &written.Add({{"kind", "increment"}});
    increments_skipped_ =
        &prometheus::BuildCounter()
             .Name("bloom_persistence_increments_skipped_total")
             .Help(
                 "Increment files left out at restore: torn or unreadable (CRC, decode), or after "
                 "one that was. The tracker loads from its base and the increments before.")
             .Register(r)
             .Add({});
    layers_skipped_ =
        &prometheus::BuildCounter()
             .Name("bloom_persistence_generation_files_skipped_total")
             .Help(
                 "Trackers whose generation files (head, frozen generations) did not all verify "
                 "at restore (missing, CRC, decode): the tracker loads from its base file.")
             .Register(r)
             .Add({});
    auto histogram = [&](const char* name, const char* help,
                         prometheus::Histogram::BucketBoundaries b) {
        return &prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({},
                                                                                   std::move(b));
    };
    save_seconds_ =
        histogram("bloom_persistence_save_duration_seconds",
                  "Save operation latency: one save pass (every dirty tracker and the index).",
                  {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
    load_seconds_ =
        histogram("bloom_persistence_load_duration_seconds",
                  "Load operation latency: one tracker read, verified, inflated and restored.",
                  {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
    ratio_ = histogram("bloom_persistence_compression_ratio",
                       "Compressed/uncompressed size of each saved tracker file.",
                       {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0});
    size_ =
        histogram("bloom_persistence_tracker_size_bytes", "Individual tracker file sizes on disk.",
                  {256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 52428800});
}

void persistence_metrics::written(bool increment, double bytes) {
    if (auto* c = increment ? written_increment_ : written_snapshot_) c->Increment(bytes);
}
void persistence_metrics::increment_skipped() {
    if (increments_skipped_) increments_skipped_->Increment();
}
void persistence_metrics::layers_skipped() {
    if (layers_skipped_) layers_skipped_->Increment();
}
void persistence_metrics::save(bool ok) {
    if (auto* c = ok ? saves_ok_ : saves_error_) c->Increment();
}
void persistence_metrics::load(bool ok) {
    if (auto* c = ok ? loads_ok_ : loads_error_) c->Increment();
}
void persistence_metrics::cleanup() {
    if (cleanups_) cleanups_->Increment();
}
void persistence_metrics::eviction(std::string_view reason) {
    prometheus::Counter* c = reason == "ttl"    ? evict_ttl_
                             : reason == "size" ? evict_size_
                                                : evict_memory_;
    if (c) c->Increment();
}
void persistence_metrics::observe_save_seconds(double s) {
    if (save_seconds_) save_seconds_->Observe(s);
}
void persistence_metrics::observe_load_seconds(double s) {
    if (load_seconds_) load_seconds_->Observe(s);
}
void persistence_metrics::observe_file(double compression_ratio, double size_bytes) {
    if (ratio_) ratio_->Observe(compression_ratio);
    if (size_) size_->Observe(size_bytes);
}
void persistence_metrics::directory_recreated() {
    if (recreated_) recreated_->Increment();
}
void persistence_metrics::files_set_aside(double n) {
    if (set_aside_) set_aside_->Increment(n);
}
void persistence_metrics::index_recovered(double n) {
    if (recovered_) recovered_->Increment(n);
}

}  // namespace mg::persistence
