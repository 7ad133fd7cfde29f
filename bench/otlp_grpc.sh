#!/usr/bin/env bash
# bench/otlp_grpc.sh: what a data point costs the governor over OTLP/gRPC against OTLP/HTTP
# protobuf (issue 18; target: gRPC at most 1.3x the HTTP CPU per data point).
#
# One null sink (bench/null_sink) as the backend and one governor forwarding OTLP as it is
# (-exporter-protocol=otlp) with both receivers: the HTTP ingest listener and the gRPC one
# (-grpc-listen), on free loopback ports read from its log. A warm-up run creates the series;
# then, for ROUNDS rounds, the load generator sends the same work (SERIES x CYCLES data points,
# SERIES_PER_REQUEST per request, same seed, uncompressed protobuf bodies identical byte for byte
# apart from the timestamps) once with -protocol otlp to the HTTP listener and once with
# -protocol otlp-grpc to the gRPC listener, the order alternating from round to round. Per run:
# the governor's CPU seconds (utime + stime from /proc/PID/stat) from the start of the run until
# its export queue is empty again, per million data points it accepted, and the loadgen's p50 and
# p99 request latency. Prints a markdown table of medians and the gRPC/HTTP CPU-per-point ratio.
# Exits non-zero when a run failed (a process died, requests got no answer, a tool or the
# daemon's -grpc-listen is missing), never on a missed target; refused requests are reported.
#
# Environment (defaults in brackets):
#   ROUNDS [5]  SERIES [20000]  CYCLES [50]  SERIES_PER_REQUEST [1000]  METRICS [100]
#   CONCURRENCY [4] loadgen connections (otlp-grpc: one HTTP/2 connection each)
#   RATE [0]  loadgen requests/s over all connections; 0 = as fast as the governor answers (the
#             latency then includes queueing behind the other connections); a rate both
#             protocols sustain compares latency at equal load
#   SEED [1]  PROXY_CPUS [1]  LOAD_CPUS [0]  CPU lists for taskset (the sink runs on LOAD_CPUS)
#   PARALLELISM [1]  the governor's -parallelism; empty: its default (one I/O thread per CPU)
#   BUILD_DIR [build/rel]  GOVERNOR, LOADGEN, NULL_SINK [in BUILD_DIR]; BUILD [1] builds them
#   GOVERNOR_FLAGS  extra flags for the governor (word-split)   OUT_DIR [a new temp dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
ROUNDS=${ROUNDS:-5}
SERIES=${SERIES:-20000}
CYCLES=${CYCLES:-50}
SERIES_PER_REQUEST=${SERIES_PER_REQUEST:-1000}
METRICS=${METRICS:-100}
CONCURRENCY=${CONCURRENCY:-4}
RATE=${RATE:-0}
SEED=${SEED:-1}
PROXY_CPUS=${PROXY_CPUS:-1}
PARALLELISM=${PARALLELISM-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BUILD=${BUILD:-1}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/mg-otlp-grpc.XXXXXX)}
LIB_NAME=otlp_grpc.sh
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for tool in curl jq taskset awk ss; do command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --e2e)"; done
if [[ $BUILD == 1 && (! -x $GOVERNOR || ! -x $LOADGEN || ! -x $NULL_SINK) ]]; then
    build_release 2 metrics-governor metrics-governor-loadgen null_sink
fi
for bin in "$GOVERNOR" "$LOADGEN" "$NULL_SINK"; do [[ -x $bin ]] || die "$bin is missing (BUILD=1 builds it)"; done
# Read whole, then searched: grep -q quitting early would fail the pipe under pipefail.
help_text=$("$GOVERNOR" -help 2>&1 || true)
[[ $help_text == *-grpc-listen* ]] ||
    die "the governor does not accept -grpc-listen ($GOVERNOR): it has no OTLP/gRPC receiver yet"
"$LOADGEN" -help 2>&1 | grep -q -- 'otlp-grpc' || die "the load generator has no -protocol otlp-grpc ($LOADGEN)"

mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.tsv
: >"$results"
trap cleanup EXIT
trap 'exit 130' INT TERM

# grpc_port DIR: the gRPC listener's port. From its "started" log line when it names an addr;
# otherwise the one port the governor listens on besides the ingest and stats listeners.
grpc_port() {
    local dir=$1 port
    port=$(grep -i 'grpc' "$dir/proxy.log" | grep -F '"addr"' | grep -i 'start\|listen' | head -n1 |
        grep -o '"addr":"[^"]*"' | head -n1 | sed 's/.*:\([0-9]*\)"$/\1/')
    if [[ -z $port ]]; then
        port=$(ss -Hltnp 2>/dev/null | grep -F "pid=$gov_pid," | awk '{print $4}' | sed 's/.*://' |
            grep -vx -e "$ingest_port" -e "$stats_port" | sort -u)
        [[ $(wc -w <<<"$port") == 1 ]] || port=""
    fi
    echo "$port"
}

start_sink "$OUT_DIR" "$LOAD_CPUS" || die "the null sink did not start"
# shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
start_governor "$OUT_DIR" "$PROXY_CPUS" -grpc-listen=127.0.0.1:0 -exporter-protocol=otlp \
    -exporter-endpoint="http://127.0.0.1:$sink_port/v1/metrics" \
    ${PARALLELISM:+-parallelism=$PARALLELISM} $GOVERNOR_FLAGS || die "the governor did not start"
has_grpc_port() { [[ -n $(grpc_port "$OUT_DIR") ]]; }
wait_for "$START_TIMEOUT" has_grpc_port || true
grpc_listen_port=$(grpc_port "$OUT_DIR")
[[ -n $grpc_listen_port ]] || die "cannot tell the governor's gRPC port (see $OUT_DIR/proxy.log)"
metrics_url=http://127.0.0.1:$stats_port/metrics
log "governor pid $gov_pid: OTLP/HTTP on $ingest_port, OTLP/gRPC on $grpc_listen_port; output in $OUT_DIR"

# wait_drained: until the governor's export queue is empty (everything accepted was forwarded).
wait_drained() {
    local q deadline=$((SECONDS + 600))
    while :; do
        alive "$gov_pid" || die "the governor died (see $OUT_DIR/proxy.log)"
        q=$(metric_sum "$metrics_url" metrics_governor_queue_bytes || echo -1)
        [[ $q == 0 ]] && return 0
        ((SECONDS < deadline)) || die "the governor's queue did not drain in 10 minutes"
        sleep 0.05
    done
}

# run_one PROTOCOL NAME: one loadgen run; appends
# "protocol round cpu_s points_accepted p50_ms p99_ms requests_failed".
run_one() {
    local protocol=$1 name=$2 url
    if [[ $protocol == otlp-grpc ]]; then
        url=http://127.0.0.1:$grpc_listen_port
    else
        url=http://127.0.0.1:$ingest_port/v1/metrics
    fi
    local out=$OUT_DIR/$name.json cpu0 cpu1 rc=0
    cpu0=$(cpu_ticks "$gov_pid")
    taskset -c "$LOAD_CPUS" "$LOADGEN" -protocol="$protocol" -url="$url" -series="$SERIES" \
        -metrics="$METRICS" -series-per-request="$SERIES_PER_REQUEST" -cycles="$CYCLES" \
        -concurrency="$CONCURRENCY" -rate="$RATE" -seed="$SEED" -timestamps=now -report=json \
        >"$out" 2>"$OUT_DIR/$name.err" || rc=$?
    ((rc <= 1)) || die "$name: the load generator failed (exit $rc, see $OUT_DIR/$name.err)"
    wait_drained
    cpu1=$(cpu_ticks "$gov_pid")
    # Refused (429) or failed requests cost the governor CPU too but bring no data point: shown
    # in the table, since they inflate that protocol's CPU per point.
    jq -e '.responses.network == 0' "$out" >/dev/null ||
        die "$name: requests got no answer (see $out and $OUT_DIR/$name.err)"
    jq -r --arg p "$protocol" --arg r "${name##*-r}" --arg c0 "$cpu0" --arg c1 "$cpu1" --arg t "$clk_tck" \
        '[$p, $r, ((($c1 | tonumber) - ($c0 | tonumber)) / ($t | tonumber)), .samples_ok,
          .latency_ms.p50, .latency_ms.p99, .requests_failed] | @tsv' "$out" >>"$results"
}

log "warm-up (creates the series; not counted)"
run_one otlp warmup-r0
: >"$results"
for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate the order so that neither protocol always runs on a governor just busy with the other.
    if ((round % 2)); then order="otlp otlp-grpc"; else order="otlp-grpc otlp"; fi
    for protocol in $order; do
        log "$protocol, round $round"
        run_one "$protocol" "$protocol-r$round"
    done
done
stop "$gov_pid"
stop "$sink_pid"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# CPU per million points, per run, then the median over the rounds.
cpu_per_m() { awk -v p="$1" '$1 == p && $4 > 0 {printf "%.6f\n", $3 / $4 * 1e6}' "$results" | median; }
col() { awk -v p="$1" -v c="$2" '$1 == p {print $c}' "$results" | median; }
http_cpu=$(cpu_per_m otlp)
grpc_cpu=$(cpu_per_m otlp-grpc)
echo "| protocol | governor CPU s per million data points (median of $ROUNDS) | loadgen p50 ms | loadgen p99 ms | vs OTLP/HTTP | requests refused or failed (most in a run) |"
echo "|---|---|---|---|---|---|"
for protocol in otlp otlp-grpc; do
    cpu=$(cpu_per_m "$protocol")
    ratio=$(awk -v c="$cpu" -v b="$http_cpu" 'BEGIN {if (b > 0) printf "%.2f", c / b; else print "-"}')
    label=$([[ $protocol == otlp ]] && echo "OTLP/HTTP protobuf" || echo "OTLP/gRPC")
    refused=$(awk -v p="$protocol" '$1 == p {print $7}' "$results" | sort -n | tail -n1)
    printf '| %s | %.3f | %s | %s | %s | %s |\n' "$label" "$cpu" "$(col "$protocol" 5)" "$(col "$protocol" 6)" \
        "$ratio" "$refused"
done
awk -v g="$grpc_cpu" -v h="$http_cpu" 'BEGIN {
    if (h <= 0) { print "gRPC/HTTP CPU per data point: -"; exit }
    r = g / h
    printf "gRPC/HTTP CPU per data point: %.2f (target <= 1.3: %s)\n", r, (r <= 1.3 ? "met" : "missed") }'
log "$SERIES series x $CYCLES cycles, $SERIES_PER_REQUEST per request, $CONCURRENCY connections, rate $RATE; raw results: $results"
