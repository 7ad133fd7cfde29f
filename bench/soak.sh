#!/usr/bin/env bash
# bench/soak.sh: metrics-governor under a steady load for a long time (issue 8, "Load and soak").
#
# One null sink and one governor (limits on) stay up for the whole run; the load generator sends
# at a fixed rate in consecutive chunks of CHUNK seconds (the same seed, so the same series every
# chunk: after the first chunk no series is new and the state should stop growing). After each
# chunk the script records the chunk's samples/s, request latency p50/p99 and failed requests
# (the loadgen's JSON report), and the governor's RSS, open file descriptors, CPU and export
# errors (/proc and its /metrics). It prints one markdown row per chunk and a verdict: RSS flat
# after warm-up (within RSS_TOLERANCE), no fd growth, no failed requests or export errors, and how
# far p99 moved. Run by hand or nightly, not in CI (10 minutes by default).
#
# Environment (defaults in brackets):
#   MAX_SPS [required unless RATE]  the governor's max samples/s from bench/compare.sh (scenario 1)
#   LOAD [0.8]        fraction of MAX_SPS to offer
#   RATE              requests/s instead (overrides MAX_SPS x LOAD / SERIES_PER_REQUEST)
#   DURATION [600]    seconds in all;  CHUNK [60] seconds per chunk;  WARMUP_CHUNKS [2]
#   SERIES [200000]  METRICS [100]  LABELS [8]  SERIES_PER_REQUEST [1000]  CONCURRENCY [4]
#   CHURN [0]         fraction of new series per cycle (0: the same series all along)
#   RSS_TOLERANCE [0.05]  allowed RSS growth from the end of warm-up to the end
#   PROXY_CPUS [1]  LOAD_CPUS [0]  BUILD_DIR [build/rel]  GOVERNOR, LOADGEN, NULL_SINK [in BUILD_DIR]
#   GOVERNOR_FLAGS    extra flags (word-split)
#   OUT_DIR [a new temp dir]  every chunk's report, the governor's log, soak.tsv
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB_NAME=soak.sh
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
LOAD=${LOAD:-0.8}
DURATION=${DURATION:-600}
CHUNK=${CHUNK:-60}
WARMUP_CHUNKS=${WARMUP_CHUNKS:-2}
SERIES=${SERIES:-200000}
METRICS=${METRICS:-100}
LABELS=${LABELS:-8}
SERIES_PER_REQUEST=${SERIES_PER_REQUEST:-1000}
CONCURRENCY=${CONCURRENCY:-4}
CHURN=${CHURN:-0}
RSS_TOLERANCE=${RSS_TOLERANCE:-0.05}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t mg-soak.XXXXXX)}

for tool in taskset curl jq awk; do
    command -v "$tool" >/dev/null || die "$tool not found; it is needed to run and measure the processes"
done
for bin in "$GOVERNOR" "$LOADGEN" "$NULL_SINK"; do
    [[ -x $bin ]] || die "$bin is missing: build Release first (bench/compare.sh builds all three), or set BUILD_DIR"
done
if [[ -z ${RATE:-} ]]; then
    [[ -n ${MAX_SPS:-} ]] || die "set MAX_SPS (the governor's samples/s from bench/compare.sh) or RATE (requests/s)"
    RATE=$(awk -v m="$MAX_SPS" -v l="$LOAD" -v n="$SERIES_PER_REQUEST" 'BEGIN {printf "%.1f", m * l / n}')
fi
awk -v r="$RATE" 'BEGIN {exit !(r > 0)}' || die "RATE=$RATE; want requests per second > 0"
((CHUNK > 0 && DURATION >= CHUNK)) || die "CHUNK=$CHUNK DURATION=$DURATION; want 0 < CHUNK <= DURATION"
chunks=$((DURATION / CHUNK))
((WARMUP_CHUNKS < chunks)) || die "WARMUP_CHUNKS=$WARMUP_CHUNKS leaves no chunk to judge ($chunks in all)"

mkdir -p "$OUT_DIR"
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

start_sink "$OUT_DIR" "$LOAD_CPUS" || die "the null sink did not start"
printf 'defaults:\n  max_cardinality: %s\n  action: drop\n' "$((SERIES * 2 / METRICS))" >"$OUT_DIR/limits.yaml"
# shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
start_governor "$OUT_DIR" "$PROXY_CPUS" -exporter-endpoint="http://127.0.0.1:$sink_port/api/v1/write" \
    -limits-config="$OUT_DIR/limits.yaml" $GOVERNOR_FLAGS || die "metrics-governor did not start"
metrics_url=http://127.0.0.1:$stats_port/metrics
log "soak: $chunks chunks of ${CHUNK}s at $RATE requests/s ($(awk -v r="$RATE" -v n="$SERIES_PER_REQUEST" 'BEGIN {printf "%.0f", r * n}') samples/s offered), results in $OUT_DIR"

tsv=$OUT_DIR/soak.tsv
printf 'chunk\tsamples_per_s\tp50_ms\tp99_ms\tfailed\trss_kb\tfds\tcpu_s\texport_errors\n' >"$tsv"
for ((c = 1; c <= chunks; c++)); do
    cpu0=$(cpu_ticks "$gov_pid")
    rc=0
    taskset -c "$LOAD_CPUS" "$LOADGEN" -url="http://127.0.0.1:$ingest_port/api/v1/write" \
        -series="$SERIES" -metrics="$METRICS" -labels="$LABELS" -series-per-request="$SERIES_PER_REQUEST" \
        -churn="$CHURN" -duration="${CHUNK}s" -concurrency="$CONCURRENCY" -rate="$RATE" -seed=1 \
        -timestamps=now -report=json >"$OUT_DIR/chunk-$c.json" 2>"$OUT_DIR/chunk-$c.err" || rc=$?
    ((rc <= 1)) || die "chunk $c: the load generator failed (exit $rc, see $OUT_DIR/chunk-$c.err)"
    alive "$gov_pid" || die "chunk $c: metrics-governor died (see $OUT_DIR/proxy.log)"
    cpu1=$(cpu_ticks "$gov_pid")
    read -r sps p50 p99 failed < <(jq -r '[.samples_per_second, .latency_ms.p50, .latency_ms.p99, .requests_failed] | @tsv' \
        "$OUT_DIR/chunk-$c.json")
    errors=$(metric_sum "$metrics_url" metrics_governor_export_errors_total)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$sps" "$p50" "$p99" "$failed" "$(vm_rss_kb "$gov_pid")" \
        "$(fd_count "$gov_pid")" "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" 'BEGIN {printf "%.2f", (b - a) / t}')" \
        "$errors" >>"$tsv"
    log "$(tail -n1 "$tsv" | tr '\t' ' ')"
done
stop "$gov_pid"
stop "$sink_pid"

# ---- the report ----
echo
echo "| chunk | samples/s | p50 ms | p99 ms | failed requests | RSS MiB | open fds | CPU s | export errors |"
echo "|---|---|---|---|---|---|---|---|---|"
awk -F'\t' 'NR > 1 {printf "| %d | %.0f | %.2f | %.2f | %d | %.1f | %d | %.1f | %d |\n", $1, $2, $3, $4, $5, $6 / 1024, $7, $8, $9}' "$tsv"
echo
awk -F'\t' -v w="$WARMUP_CHUNKS" -v tol="$RSS_TOLERANCE" '
    NR == 1 { next }
    { c = $1 }
    c == w { rss0 = $6; fds0 = $7 }
    c > w {
        if (p99min == "" || $4 < p99min) p99min = $4
        if ($4 > p99max) p99max = $4
        failed += $5; rss1 = $6; fds1 = $7; errors = $9
        if ($7 > fdsmax) fdsmax = $7
    }
    END {
        growth = (rss1 - rss0) / rss0
        printf "- RSS after warm-up (chunk %d) %.1f MiB, at the end %.1f MiB: %+.1f%% (%s, tolerance %.0f%%)\n", w, rss0 / 1024, rss1 / 1024, 100 * growth, (growth <= tol ? "flat" : "GROWING"), 100 * tol
        printf "- open fds: %d after warm-up, at most %d later (%s)\n", fds0, fdsmax, (fdsmax <= fds0 ? "no growth" : "GROWING")
        printf "- failed requests after warm-up: %d; export errors in all: %d\n", failed, errors
        printf "- p99 after warm-up from %.2f to %.2f ms (max/min %.2f)\n", p99min, p99max, (p99min > 0 ? p99max / p99min : 0)
    }' "$tsv"
