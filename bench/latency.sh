#!/usr/bin/env bash
# bench/latency.sh: samples per second the governor forwards against a backend LATENCY ms away
# (issue 15), with its default settings: one shard that grows to as many as the round trip needs.
#
# For each latency and round: a fresh null sink that holds every answer LATENCY ms
# (bench/null_sink -delay, -threads=SINK_THREADS so held requests do not wait for each other), a
# fresh governor forwarding to it, and the load generator sending a fixed amount of work
# (SERIES x CYCLES samples, SERIES_PER_REQUEST per request) as fast as the governor accepts it.
# Forwarded samples/s = the samples the governor delivered (metrics_governor_datapoints_sent_total)
# / the time from the first request to the moment its queue was empty again. Also recorded: the
# shards it ended with, the largest queue seen (polled every 0.2 s), the requests refused (429)
# and the governor's CPU seconds. Prints a markdown table of medians and the ratio of each
# latency's throughput to the 0 ms one (the target: at 50 ms at least 0.8).
#
# Environment (defaults in brackets):
#   LATENCIES ["0 10 50 200"]  ROUNDS [3]  SERIES [20000]  CYCLES [100]  SERIES_PER_REQUEST [1000]
#   CONCURRENCY [4] loadgen connections  SINK_THREADS [64]
#   RATE [0]  loadgen requests/s over all connections; 0 = as fast as the governor accepts (a
#             flood: the maximum). With a rate, forwarded = the rate when the governor keeps up.
#   PROXY_CPUS [1]  LOAD_CPUS [0]  CPU lists for taskset
#   PARALLELISM [1]  the governor's -parallelism; empty: its default (one I/O thread per CPU)
#   BUILD_DIR [build/rel]  GOVERNOR, LOADGEN, NULL_SINK [in BUILD_DIR]; BUILD [1] builds them
#   GOVERNOR_FLAGS  extra flags for the governor (word-split)   OUT_DIR [a new temp dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
LATENCIES=${LATENCIES:-"0 10 50 200"}
ROUNDS=${ROUNDS:-3}
SERIES=${SERIES:-20000}
CYCLES=${CYCLES:-100}
SERIES_PER_REQUEST=${SERIES_PER_REQUEST:-1000}
CONCURRENCY=${CONCURRENCY:-4}
SINK_THREADS=${SINK_THREADS:-64}
RATE=${RATE:-0}
PROXY_CPUS=${PROXY_CPUS:-1}
PARALLELISM=${PARALLELISM-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BUILD=${BUILD:-1}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/mg-latency.XXXXXX)}
LIB_NAME=latency.sh
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for tool in curl jq taskset awk; do command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --e2e)"; done
if [[ $BUILD == 1 && (! -x $GOVERNOR || ! -x $LOADGEN || ! -x $NULL_SINK) ]]; then
    build_release 2 metrics-governor metrics-governor-loadgen null_sink
fi
mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.tsv
: >"$results"
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_one LATENCY ROUND: appends "latency round samples_per_s shards max_queue refused cpu_s".
run_one() {
    local latency=$1 round=$2 dir=$OUT_DIR/l$1-r$2
    mkdir -p "$dir"
    taskset -c "$LOAD_CPUS" "$NULL_SINK" -listen=127.0.0.1:0 -threads="$SINK_THREADS" -delay="$latency" \
        >"$dir/sink.out" 2>&1 &
    local sink_pid=$!
    pids+=("$sink_pid")
    wait_for "$START_TIMEOUT" file_has "$dir/sink.out" '^listening' || die "$dir: the null sink did not start"
    local sink_port
    sink_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$dir/sink.out")

    local gov_pid ingest_port stats_port
    # shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
    start_governor "$dir" "$PROXY_CPUS" -exporter-endpoint="http://127.0.0.1:$sink_port/api/v1/write" \
        ${PARALLELISM:+-parallelism=$PARALLELISM} $GOVERNOR_FLAGS || die "$dir: the governor did not start"
    local metrics_url=http://127.0.0.1:$stats_port/metrics

    local cpu0 start end rc=0
    cpu0=$(cpu_ticks "$gov_pid")
    start=$(date +%s.%N)
    taskset -c "$LOAD_CPUS" "$LOADGEN" -url="http://127.0.0.1:$ingest_port/api/v1/write" -series="$SERIES" \
        -metrics=100 -series-per-request="$SERIES_PER_REQUEST" -cycles="$CYCLES" -concurrency="$CONCURRENCY" -rate="$RATE" \
        -timestamps=now -report=json >"$dir/loadgen.json" 2>"$dir/loadgen.err" &
    local load_pid=$!
    pids+=("$load_pid")
    local max_queue=0 q
    while alive "$load_pid"; do
        q=$(metric_sum "$metrics_url" metrics_governor_queue_bytes || echo 0)
        ((q > max_queue)) && max_queue=$q
        sleep 0.2
    done
    wait "$load_pid" || rc=$?
    ((rc <= 1)) || die "$dir: the load generator failed (exit $rc, see $dir/loadgen.err)"
    # Forwarded once the queue is empty (nothing queued or in flight).
    local deadline=$((SECONDS + 600))
    while :; do
        q=$(metric_sum "$metrics_url" metrics_governor_queue_bytes || echo -1)
        ((q > max_queue)) && max_queue=$q
        [[ $q == 0 ]] && break
        ((SECONDS < deadline)) || die "$dir: the queue did not drain in 10 minutes"
        sleep 0.05
    done
    end=$(date +%s.%N)
    local sent shards refused cpu1
    sent=$(metric_sum "$metrics_url" metrics_governor_datapoints_sent_total)
    shards=$(metric_sum "$metrics_url" metrics_governor_export_shards)
    refused=$(jq '.requests - .requests_ok' "$dir/loadgen.json" 2>/dev/null || echo "?")
    cpu1=$(cpu_ticks "$gov_pid")
    stop "$gov_pid"
    stop "$sink_pid"
    awk -v l="$latency" -v r="$round" -v s="$sent" -v a="$start" -v b="$end" -v sh="$shards" -v mq="$max_queue" \
        -v rf="$refused" -v c0="$cpu0" -v c1="$cpu1" -v tck="$clk_tck" \
        'BEGIN {printf "%s\t%s\t%.0f\t%s\t%s\t%s\t%.2f\n", l, r, s / (b - a), sh, mq, rf, (c1 - c0) / tck}' >>"$results"
}

for ((round = 1; round <= ROUNDS; round++)); do
    for latency in $LATENCIES; do
        log "latency ${latency} ms, round $round"
        run_one "$latency" "$round"
    done
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "| backend latency | forwarded samples/s (median of $ROUNDS) | vs 0 ms | shards at the end | largest queue (bytes) | requests refused | governor CPU s |"
echo "|---|---|---|---|---|---|---|"
base=$(awk '$1 == 0 {print $3}' "$results" | median)
for latency in $LATENCIES; do
    rate=$(awk -v l="$latency" '$1 == l {print $3}' "$results" | median)
    shards=$(awk -v l="$latency" '$1 == l {print $4}' "$results" | median)
    mq=$(awk -v l="$latency" '$1 == l {print $5}' "$results" | median)
    rf=$(awk -v l="$latency" '$1 == l {print $6}' "$results" | sort -n | tail -n1)
    cpu=$(awk -v l="$latency" '$1 == l {print $7}' "$results" | median)
    ratio=$(awk -v r="$rate" -v b="$base" 'BEGIN {if (b > 0) printf "%.2f", r / b; else print "-"}')
    echo "| ${latency} ms | $rate | $ratio | $shards | $mq | $rf | $cpu |"
done
log "raw results: $results"
