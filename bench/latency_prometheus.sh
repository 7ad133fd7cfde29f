#!/usr/bin/env bash
# bench/latency_prometheus.sh: the write path at a steady load against a real Prometheus receiver
# LATENCY ms away (issue 15's end-to-end figure: 200k samples/s through 50 ms).
#
# Debian's prometheus with --web.enable-remote-write-receiver on 127.0.0.1:0, bench/delay_forwarder
# in front of it adding LATENCY/2 ms in each direction, the governor (Release, default settings)
# forwarding to the forwarder, and the load generator sending RATE requests/s of
# SERIES_PER_REQUEST series for CYCLES cycles of SERIES series. Then it waits for the governor's
# queue to empty and asks Prometheus how many samples it stored, how many it refused as out of
# order (its own counters), and prints one markdown row: offered and forwarded samples/s, stored vs accepted,
# out-of-order, refused requests, largest queue, shards, governor CPU s.
#
# Environment (defaults in brackets):
#   LATENCY [50]  RATE [200]  SERIES [20000]  SERIES_PER_REQUEST [1000]  CYCLES [100]
#   CONCURRENCY [4]  BUILD_DIR [build/rel]  GOVERNOR_FLAGS  OUT_DIR [a new temp dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
FORWARDER=${FORWARDER:-$BUILD_DIR/bench/delay_forwarder}
LATENCY=${LATENCY:-50}
RATE=${RATE:-200}
SERIES=${SERIES:-20000}
SERIES_PER_REQUEST=${SERIES_PER_REQUEST:-1000}
CYCLES=${CYCLES:-100}
CONCURRENCY=${CONCURRENCY:-4}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/mg-latency-prom.XXXXXX)}
LIB_NAME=latency_prometheus.sh
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for tool in curl jq prometheus; do command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --e2e)"; done
if [[ ! -x $GOVERNOR || ! -x $LOADGEN || ! -x $FORWARDER ]]; then
    build_release 2 metrics-governor metrics-governor-loadgen delay_forwarder
fi
mkdir -p "$OUT_DIR"
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'global:\n  scrape_interval: 1m\n' >"$OUT_DIR/prometheus.yml"
prometheus --config.file="$OUT_DIR/prometheus.yml" --storage.tsdb.path="$OUT_DIR/data" \
    --web.listen-address=127.0.0.1:0 --web.enable-remote-write-receiver >"$OUT_DIR/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/prometheus.log" 'Server is ready to receive web requests' ||
    die "prometheus did not start (see $OUT_DIR/prometheus.log)"
prom_port=$(grep -o 'msg="Listening on" address=127.0.0.1:[0-9]*' "$OUT_DIR/prometheus.log" | head -n1 | sed 's/.*://')

"$FORWARDER" "$prom_port" $((LATENCY / 2)) >"$OUT_DIR/forwarder.out" 2>&1 &
pids+=("$!")
wait_for "$START_TIMEOUT" file_has "$OUT_DIR/forwarder.out" '^listening' || die "the delay forwarder did not start"
far_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$OUT_DIR/forwarder.out")

# shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
start_governor "$OUT_DIR" 0-1 -exporter-endpoint="http://127.0.0.1:$far_port/api/v1/write" $GOVERNOR_FLAGS ||
    die "the governor did not start"
metrics_url=http://127.0.0.1:$stats_port/metrics

cpu0=$(cpu_ticks "$gov_pid")
start=$(date +%s.%N)
"$LOADGEN" -url="http://127.0.0.1:$ingest_port/api/v1/write" -series="$SERIES" -metrics=100 \
    -series-per-request="$SERIES_PER_REQUEST" -cycles="$CYCLES" -concurrency="$CONCURRENCY" -rate="$RATE" \
    -timestamps=now -report=json >"$OUT_DIR/loadgen.json" 2>"$OUT_DIR/loadgen.err" &
load_pid=$!
pids+=("$load_pid")
max_queue=0
while alive "$load_pid"; do
    q=$(metric_sum "$metrics_url" metrics_governor_queue_bytes || echo 0)
    ((q > max_queue)) && max_queue=$q
    sleep 0.2
done
rc=0
wait "$load_pid" || rc=$?
((rc <= 1)) || die "the load generator failed (exit $rc, see $OUT_DIR/loadgen.err)"
deadline=$((SECONDS + 600))
until [[ $(metric_sum "$metrics_url" metrics_governor_queue_bytes || echo -1) == 0 ]]; do
    ((SECONDS < deadline)) || die "the queue did not drain in 10 minutes"
    sleep 0.05
done
end=$(date +%s.%N)
cpu1=$(cpu_ticks "$gov_pid")
sent=$(metric_sum "$metrics_url" metrics_governor_datapoints_sent_total)
shards=$(metric_sum "$metrics_url" metrics_governor_export_shards)
accepted=$(jq '.samples_ok' "$OUT_DIR/loadgen.json")
refused=$(jq '.requests - .requests_ok' "$OUT_DIR/loadgen.json")
curl -sf --max-time 5 "$metrics_url" >"$OUT_DIR/governor_metrics.txt" || true
curl -sf --max-time 5 "http://127.0.0.1:$prom_port/metrics" >"$OUT_DIR/prometheus_metrics.txt" || true
# What Prometheus appended to its head (it scrapes nothing, so every sample came from us). A
# query would miss samples whose timestamps are still ahead (the generator steps 1 s per cycle).
stored=$(awk '$1 == "prometheus_tsdb_head_samples_appended_total{type=\"float\"}" {printf "%.0f", $2}' "$OUT_DIR/prometheus_metrics.txt")
out_of_order=$(awk '$1 ~ /^prometheus_tsdb_out_of_order_samples_total/ {s += $2} END {printf "%.0f", s}' "$OUT_DIR/prometheus_metrics.txt")
echo "| backend latency | offered samples/s | forwarded samples/s | stored / accepted | out of order | requests refused | largest queue (bytes) | shards at the end | governor CPU s |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -v l="$LATENCY" -v r="$RATE" -v n="$SERIES_PER_REQUEST" -v s="$sent" -v a="$start" -v b="$end" -v st="$stored" \
    -v ac="$accepted" -v oo="$out_of_order" -v rf="$refused" -v mq="$max_queue" -v sh="$shards" -v c0="$cpu0" \
    -v c1="$cpu1" -v tck="$clk_tck" \
    'BEGIN {printf "| %s ms | %d | %.0f | %s / %s | %s | %s | %s | %s | %.2f |\n", l, r * n, s / (b - a), st, ac, oo, rf, mq, sh, (c1 - c0) / tck}'
log "output in $OUT_DIR"
