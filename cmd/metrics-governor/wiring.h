// wiring: the one place where the daemon's configuration (config/config.h: defaults, YAML and
// flags) becomes each module's own options, so no module reads app_config and a setting that is
// parsed but never reaches its module shows up in one unit test (tests/unit/cmd/wiring_test.cpp
// sets every setting to a distinctive value and checks where it lands, flag by flag).
//
// What main reads from the configuration itself, because it is no module's: the log level and
// format, -parallelism, the listen addresses, the pid file, -limits-config (main loads it and
// reloads it on SIGHUP), -shutdown-timeout's deadline (also in persistence's options) and the
// listeners' access control (listener_access.h, shared with validate).
//
// Pure functions on the calling thread; nothing is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "cluster/cluster_options.h"
#include "config/config.h"
#include "export/exporter_options.h"
#include "grpc_ingest/grpc_listener.h"
#include "http/server.h"
#include "ingest/receiver.h"
#include "limits/governor.h"
#include "overflow/overflow_store.h"
#include "persistence/bloom_persistence.h"
#include "ui/cardinality_history.h"

namespace mg::cmd {

struct module_options {
    limits::governor_options governor;
    // Metrics with their own cardinality gauge and API entry (-stats-top-n).
    std::size_t cardinality_top_n = 0;
    // The /ui page's history ring (ui.history_interval) and whether dropped series are sampled
    // for it (-ui-show-dropped-samples).
    ui::history_options history;
    bool show_dropped_samples = false;
    // Empty when -bloom-persistence-enabled is off.
    std::optional<persistence::persistence_options> persistence;
    // Empty when -cluster-redis-addr is (cluster mode off).
    std::optional<cluster::cluster_options> cluster;
    exporter::exporter_options exporter;
    ingest::receiver_options receiver;
    // The overflow series (issue 21): -overflow-interval is the default emission interval.
    overflow::store_options overflow;
    // Bytes of request bodies held at once over the ingest listeners; 0: main derives it from
    // the memory the process may use.
    std::uint64_t max_inflight_bytes = 0;
    // The listeners' settings. main adds what it shares between listeners or builds from files:
    // the in-flight byte budget, the counters and the access control.
    http::server_options ingest_server;
    http::server_options stats_server;
    // The OTLP/gRPC listener (its listen address included; empty: none). main adds what it
    // shares with the HTTP ingest listeners through its port (ingest/grpc_adaptor.h: the
    // credentials, the budget, the counters); the TLS files are in the options.
    grpc_ingest::grpc_options grpc;
};

module_options module_options_from(const config::app_config& cfg);

// The exporter's part alone (validate checks it without building the rest).
exporter::exporter_options exporter_options_from(const config::app_config& cfg);
// Cluster mode's part alone (validate loads its TLS files); empty when cluster mode is off.
std::optional<cluster::cluster_options> cluster_options_from(const config::app_config& cfg);

}  // namespace mg::cmd
