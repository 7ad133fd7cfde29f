#!/usr/bin/env bash
# bench/capture_prometheus.sh: records what a real Prometheus sends over remote write, as the
# load generator's shape file (issue 23).
#
# Debian's prometheus scrapes four targets on loopback every second (itself, metrics-governor's
# stats /metrics, victoria-metrics and vmagent, each under its own job) and remote-writes to
# bench/null_sink started with -capture. After DURATION the bodies are turned into a shape file
# by bench/capture_shape: the distinct series as Prometheus sent them (label names and values,
# sorted), grouped by metric name, with the capture's statistics (series per request, labels and
# label bytes per series) at the top. The load generator's -shape=FILE then sends series of that
# shape at any scale (docs/loadgen.md); bench/compare.sh runs every scenario on it.
#
# Environment (defaults in brackets):
#   DURATION [60]                 seconds of capture after the last target is up
#   OUT [bench/shapes/prometheus.txt]  the shape file written
#   MAX_PER_FAMILY [64]  MAX_SERIES [20000]   capture_shape's caps
#   BUILD_DIR [build/rel]  NULL_SINK, CAPTURE_SHAPE, GOVERNOR [in BUILD_DIR]  BUILD [1]
#   OUT_DIR [a new temp dir]      the bodies, configs and logs
set -euo pipefail
LIB_NAME=capture_prometheus.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-60}
OUT=${OUT:-$src/bench/shapes/prometheus.txt}
MAX_PER_FAMILY=${MAX_PER_FAMILY:-64}
MAX_SERIES=${MAX_SERIES:-20000}
BUILD_DIR=${BUILD_DIR:-$src/build/rel}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
CAPTURE_SHAPE=${CAPTURE_SHAPE:-$BUILD_DIR/bench/capture_shape}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
BUILD=${BUILD:-1}
START_TIMEOUT=${START_TIMEOUT:-30}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t mg-capture.XXXXXX)}

for tool in curl prometheus victoria-metrics vmagent ss; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --e2e)"
done
if [[ ! -x $NULL_SINK || ! -x $CAPTURE_SHAPE || ! -x $GOVERNOR ]]; then
    [[ $BUILD == 1 ]] || die "binaries missing in $BUILD_DIR and BUILD=$BUILD"
    build_release 1 metrics-governor null_sink capture_shape
fi

pids=()
trap cleanup EXIT
mkdir -p "$OUT_DIR/bodies"
log "work directory $OUT_DIR"

"$NULL_SINK" -listen=127.0.0.1:0 -capture="$OUT_DIR/bodies" -capture-max=100000 >"$OUT_DIR/sink.out" 2>&1 &
sink_pid=$!
pids+=("$sink_pid")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/sink.out" '^listening' || die "the null sink did not start"
sink_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$OUT_DIR/sink.out")

# The targets. The governor forwards to a second sink that captures nothing: only Prometheus's
# bodies are recorded.
"$NULL_SINK" -listen=127.0.0.1:0 >"$OUT_DIR/sink2.out" 2>&1 &
pids+=("$!")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/sink2.out" '^listening' || die "the second sink did not start"
sink2_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$OUT_DIR/sink2.out")
"$GOVERNOR" -http-listen=127.0.0.1:0 -grpc-listen= -stats-addr=127.0.0.1:0 \
    -exporter-endpoint="http://127.0.0.1:$sink2_port/api/v1/write" >"$OUT_DIR/governor.log" 2>&1 &
pids+=("$!")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/governor.log" '"metrics-governor started"' ||
    die "metrics-governor did not start (see $OUT_DIR/governor.log)"
governor_port=$(log_port "$OUT_DIR/governor.log" "stats listener started")

victoria-metrics -httpListenAddr=127.0.0.1:0 -storageDataPath="$OUT_DIR/vm" >"$OUT_DIR/vm.log" 2>&1 &
vm_pid=$!
pids+=("$vm_pid")
vmagent -httpListenAddr=127.0.0.1:0 -remoteWrite.url="http://127.0.0.1:$sink2_port/api/v1/write" \
    -remoteWrite.tmpDataPath="$OUT_DIR/vmagent" >"$OUT_DIR/vmagent.log" 2>&1 &
vmagent_pid=$!
pids+=("$vmagent_pid")
wait_for "$START_TIMEOUT" has_listen_port "$vm_pid" || die "victoria-metrics did not listen (see $OUT_DIR/vm.log)"
wait_for "$START_TIMEOUT" has_listen_port "$vmagent_pid" || die "vmagent did not listen (see $OUT_DIR/vmagent.log)"
vm_port=$(listen_port "$vm_pid")
vmagent_port=$(listen_port "$vmagent_pid")

# Prometheus picks its own port; it scrapes itself once it is known (a reload).
write_config() {
    {
        printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
        printf 'remote_write:\n  - url: http://127.0.0.1:%s/api/v1/write\n' "$sink_port"
        printf 'scrape_configs:\n'
        local job port
        for job in "$@"; do
            port=${job#*=}
            job=${job%=*}
            printf '  - job_name: %s\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$job" "$port"
        done
    } >"$OUT_DIR/prometheus.yml"
}
targets=("metrics-governor=$governor_port" "victoria-metrics=$vm_port" "vmagent=$vmagent_port")
write_config "${targets[@]}"
prometheus --config.file="$OUT_DIR/prometheus.yml" --storage.tsdb.path="$OUT_DIR/prom" \
    --web.listen-address=127.0.0.1:0 --web.enable-lifecycle >"$OUT_DIR/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/prometheus.log" 'Server is ready to receive web requests' ||
    die "prometheus did not start (see $OUT_DIR/prometheus.log)"
prom_port=$(grep -o 'msg="Listening on" address=127.0.0.1:[0-9]*' "$OUT_DIR/prometheus.log" | head -n1 | sed 's/.*://')
[[ -n $prom_port ]] || die "prometheus's port is not in its log"
write_config "prometheus=$prom_port" "${targets[@]}"
curl -sf -X POST "http://127.0.0.1:$prom_port/-/reload" >/dev/null || die "prometheus did not reload its config"

log "capturing for ${DURATION}s: prometheus :$prom_port scraping governor :$governor_port, victoria-metrics :$vm_port, vmagent :$vmagent_port"
sleep "$DURATION"
stop "$prom_pid"  # flushes its remote-write queue
log "$(sink_requests "$sink_port") requests captured"

mkdir -p "$(dirname "$OUT")"
"$CAPTURE_SHAPE" "$OUT_DIR/bodies" -max-per-family="$MAX_PER_FAMILY" -max-series="$MAX_SERIES" >"$OUT.tmp"
{
    echo "# bench/capture_prometheus.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ): $(prometheus --version 2>&1 | head -n1)"
    echo "# scraping itself, metrics-governor, victoria-metrics and vmagent every 1s for ${DURATION}s"
    cat "$OUT.tmp"
} >"$OUT"
rm -f "$OUT.tmp"
log "wrote $OUT"
