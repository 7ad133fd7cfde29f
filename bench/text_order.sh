#!/usr/bin/env bash
# bench/text_order.sh: regenerates cmake/text-order.txt, the list of the daemon's functions that
# a running governor executes, in the order the linker lays them out (CMake's MG_TEXT_ORDER: lld
# --symbol-ordering-file). Why: the kernel maps a binary's code into a process 64 KiB around each
# page it touches (fault-around), so code run at start-up and per request, scattered over the
# 5 MB of text, made nearly all of it resident (4.5 MB); laid out together it is about 1 MB.
# docs/benchmarks.md, "Resident code", has the measurements.
#
# What it runs: a Release governor (BUILD_DIR) under valgrind's callgrind, on its default flags
# but loopback ports, with limits, Bloom persistence in a temp dir and the OTLP/gRPC listener on,
# fed remote write v1 (the Prometheus shape: under its limits, then over them), OTLP/HTTP and
# OTLP/gRPC by the load generator,
# scraped on /metrics and stopped with SIGTERM (so the save and drain paths count). The functions
# of the binary that ran are written hottest first (self cost), so the per-request code shares
# pages with itself, then the ones that ran once (start-up, shutdown).
#
# Stale entries are harmless: a name the binary no longer has is skipped by the linker, and a new
# function goes where it would have gone without the list. Rerun it after large changes to the
# request path or start-up, and commit the file with the change (tests/build checks the link
# applies it, not that it is fresh).
#
# Usage: bench/text_order.sh [OUTPUT]   (default: cmake/text-order.txt)
#   BUILD_DIR [build/rel]  the Release build with metrics-governor, metrics-governor-loadgen and
#                          bench/null_sink (BUILD=1, the default, configures and builds them)
#   GOVERNOR, LOADGEN, NULL_SINK  the binaries, if not those of BUILD_DIR
#   SERIES [20000]         series per protocol; CYCLES [3]
# Needs valgrind (apt-get install valgrind) and curl.
set -euo pipefail

LIB_NAME=text_order
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

OUTPUT=${1:-$repo/cmake/text-order.txt}
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
BUILD=${BUILD:-1}
SERIES=${SERIES:-20000}
CYCLES=${CYCLES:-3}
START_TIMEOUT=${START_TIMEOUT:-300}  # start-up under callgrind is ~50x slower
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}

command -v valgrind >/dev/null || die "valgrind is needed (apt-get install valgrind)"
if [[ $BUILD == 1 ]]; then
    build_release 2 metrics-governor metrics-governor-loadgen null_sink
fi
[[ -x $GOVERNOR && -x $LOADGEN && -x $NULL_SINK ]] || die "binaries missing in $BUILD_DIR"

work=$(mktemp -d)
on_exit() {
    local rc=$?
    cleanup
    if ((rc == 0)); then rm -rf "$work"; else log "its files are kept in $work"; fi
}
trap on_exit EXIT
mkdir "$work/state"
# A limit the first remote-write load stays under (every series kept: the raw fast path, which
# forwards the request's own bytes) and the second goes over (the governed path, drops).
printf 'defaults:\n  max_cardinality: %s\n  action: drop\n' $((SERIES * 3 / 2 / 100)) >"$work/limits.yaml"

start_sink "$work" "" || die "the null sink did not start"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.out" \
    "$GOVERNOR" -http-listen=127.0.0.1:0 -grpc-listen=127.0.0.1:0 -stats-addr=127.0.0.1:0 \
    -exporter-endpoint="http://127.0.0.1:$sink_port/api/v1/write" -limits-config="$work/limits.yaml" \
    -bloom-persistence-enabled=true -bloom-persistence-path="$work/state" \
    -bloom-persistence-save-interval=2s >"$work/proxy.log" 2>&1 &
gov_pid=$!
pids+=("$gov_pid")
wait_for "$START_TIMEOUT" file_has "$work/proxy.log" '"metrics-governor started"' ||
    die "the governor did not start under valgrind (see $work/proxy.log)"
http_port=$(log_port "$work/proxy.log" "ingest listener started")
grpc_port=$(log_port "$work/proxy.log" "grpc listener started")
stats_port=$(log_port "$work/proxy.log" "stats listener started")
[[ -n $http_port && -n $grpc_port && -n $stats_port ]] || die "no listener ports in $work/proxy.log"

# load SERIES FLAG...: one load generator run.
load() {
    local series=$1
    shift
    "$LOADGEN" -series="$series" -metrics=100 -cycles="$CYCLES" -concurrency=4 -timeout=60s "$@" \
        >>"$work/loadgen.out" 2>&1 || die "the load generator failed: $* (see $work/loadgen.out)"
}
rw=(-url="http://127.0.0.1:$http_port/api/v1/write" -shape="$repo/bench/shapes/prometheus.txt"
    -series-per-request=500)
load "$SERIES" "${rw[@]}"
load $((SERIES * 2)) "${rw[@]}"
load "$SERIES" -url="http://127.0.0.1:$http_port/v1/metrics" -protocol=otlp -series-per-request=1000
# gRPC's first connections under valgrind can fail their handshake (UNAVAILABLE, and the channel
# then fails fast): warm up until one call goes. The listener's own code is in the gRPC plugin,
# which this list does not order; what a call runs in the daemon is the OTLP core of the HTTP load
# above and the gRPC port's few functions, so a machine too slow for the handshake only loses those.
grpc_ok=0
for _ in 1 2 3 4 5; do
    if "$LOADGEN" -url="http://127.0.0.1:$grpc_port" -protocol=otlp-grpc -series=10 -metrics=1 \
        -timeout=30s -report=json 2>/dev/null | grep -q '"samples_ok": *10'; then
        grpc_ok=1
        break
    fi
    sleep 2
done
if ((grpc_ok)); then
    # Calls can still fail under valgrind; the ones that went through are what counts here.
    "$LOADGEN" -series="$SERIES" -metrics=100 -cycles="$CYCLES" -concurrency=4 -timeout=60s \
        -url="http://127.0.0.1:$grpc_port" -protocol=otlp-grpc -series-per-request=1000 \
        >>"$work/loadgen.out" 2>&1 || log "some OTLP/gRPC calls failed under valgrind (see $work/loadgen.out)"
else
    log "no OTLP/gRPC call went through under valgrind: the gRPC load is left out"
fi
curl -sf --max-time 60 -o /dev/null "http://127.0.0.1:$stats_port/metrics" || die "/metrics did not answer"
wait_sink_quiet "$sink_port" || die "the sink kept receiving"
kill -TERM "$gov_pid"
wait "$gov_pid" || die "the governor exited with $? (see $work/proxy.log)"
stop "$sink_pid"

# callgrind's format: "ob=(id) path" names the object of the "fn=(id) name" blocks that follow
# (names are given once, then referred to by id); each block's cost lines are "position cost",
# except that the line after "calls=" is the cost of that call (inclusive), not the function's.
awk -v bin="$(basename "$GOVERNOR")" '
    function base(p) { sub(/.*\//, "", p); return p }
    /^(ob|cob)=/ {
        id = $1; sub(/^c?ob=/, "", id)
        if (NF > 1) { name = $0; sub(/^[^ ]* /, "", name); obj[id] = name }
        if ($1 ~ /^ob=/) in_bin = (base(obj[id]) == bin)
        next
    }
    /^(fn|cfn)=/ {
        id = $1; sub(/^c?fn=/, "", id)
        if (NF > 1) fname[id] = $2
        if ($1 ~ /^fn=/) {
            cur = in_bin ? fname[id] : ""
            if (cur != "" && !(cur in cost)) { cost[cur] = 0; order[++n] = cur }
        }
        next
    }
    /^calls=/ { skip = 1; next }
    /^[+-]?[0-9*]/ {
        if (skip) { skip = 0; next }
        if (cur != "") cost[cur] += $NF
        next
    }
    END { for (i = 1; i <= n; i++) printf "%d %d %s\n", cost[order[i]], i, order[i] }
' "$work/callgrind.out" | sort -k1,1nr -k2,2n | awk '{print $3}' >"$work/order.txt"

count=$(wc -l <"$work/order.txt")
((count > 100)) || die "only $count functions of the binary found in the profile"
{
    echo "# The daemon's functions a running governor executes, hottest first: the link order of"
    echo "# MG_TEXT_ORDER (lld --symbol-ordering-file). Generated by bench/text_order.sh; do not edit."
    cat "$work/order.txt"
} >"$OUTPUT"
log "$count functions written to $OUTPUT"
