#!/usr/bin/env bash
# bench/cluster.sh: cluster mode (docs/cluster.md) against one standalone process, side by side
# on loopback (issue 17). Each round runs, in turn, the standalone governor and the governor in
# cluster mode with a fresh redis-server, each with a fresh null sink (bench/null_sink), under the
# same limits (defaults.max_cardinality, so every metric's limit is shared in cluster mode).
#
# Two phases per run, on the same processes:
#   steady  one warm-up cycle (every series new: cluster mode asks Redis about each), then
#           CYCLES cycles of the same series. Recorded over the measured cycles only: the
#           governor's CPU seconds per million samples, Redis round trips per request (the
#           calls counted in metrics_governor_cluster_requests_total), p50/p99 request latency.
#   churn   CYCLES cycles with 10% of the series replaced by new ones each cycle (loadgen
#           -churn=0.1), the limits admitting about half of the new ones. Recorded: round trips
#           per request, p50/p99 latency, and redis-server's CPU seconds per new series, whence
#           the new series per second one Redis core sustains.
# It prints a markdown table of medians over the rounds and the ratios; it exits non-zero only
# when a run failed, never on a missed target.
#
# CPUs: the governor runs under `taskset -c $PROXY_CPUS` (-parallelism = their number), the
# loadgen, the sink and redis-server under `taskset -c $LOAD_CPUS`.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  CYCLES [10]  SERIES [200000]  METRICS [100]  CONCURRENCY [4]
#   PROXY_CPUS [1]  LOAD_CPUS [0]
#   BUILD_DIR [build/rel]  GOVERNOR, LOADGEN, NULL_SINK [in BUILD_DIR]  REDIS [redis-server]
#   BUILD [1]  JOBS [1]  OUT_DIR [a new temp dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
REDIS=${REDIS:-$(command -v redis-server || true)}
ROUNDS=${ROUNDS:-3}
CYCLES=${CYCLES:-10}
SERIES=${SERIES:-200000}
METRICS=${METRICS:-100}
CONCURRENCY=${CONCURRENCY:-4}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BUILD=${BUILD:-1}
JOBS=${JOBS:-1}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t mg-cluster.XXXXXX)}
SERIES_PER_REQUEST=1000
LABELS=8

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
LIB_NAME=cluster.sh

[[ -n $REDIS && -x $REDIS ]] || die "redis-server not found; install Debian's redis-server (scripts/install-deps.sh --e2e)"
for tool in taskset curl jq ss awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
proxy_ncpus=$(taskset -c "$PROXY_CPUS" nproc) || die "PROXY_CPUS=$PROXY_CPUS is not a usable CPU list"
if [[ ! -x $GOVERNOR || ! -x $LOADGEN || ! -x $NULL_SINK ]]; then
    [[ $BUILD == 1 ]] || die "binaries missing ($GOVERNOR, $LOADGEN, $NULL_SINK) and BUILD=$BUILD"
    build_release "$JOBS" metrics-governor metrics-governor-loadgen null_sink
fi
mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.tsv
: >"$results"
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nothing listens on (redis-server cannot bind port 0 and report it).
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        ss -Hltn "sport = :$p" | grep -q . || {
            echo "$p"
            return 0
        }
    done
    return 1
}

# loadgen DIR NAME CHURN CYCLES SEED: one loadgen run against the governor; its JSON in DIR/NAME.json.
loadgen() {
    local dir=$1 name=$2 churn=$3 cycles=$4 seed=$5 rc=0
    taskset -c "$LOAD_CPUS" "$LOADGEN" -url="http://127.0.0.1:$ingest_port/api/v1/write" \
        -series="$SERIES" -metrics="$METRICS" -labels="$LABELS" -series-per-request="$SERIES_PER_REQUEST" \
        -churn="$churn" -cycles="$cycles" -concurrency="$CONCURRENCY" -seed="$seed" \
        -report=json >"$dir/$name.json" 2>"$dir/$name.err" || rc=$?
    ((rc <= 1)) && jq -e .samples_ok "$dir/$name.json" >/dev/null 2>&1
}

calls() { metric_sum "http://127.0.0.1:$stats_port/metrics" metrics_governor_cluster_requests_total; }

# Waits until no Redis call was made for 6 s in a row (at most 60 s): what the warm-up admitted
# while Redis did not answer in time is written back within the 5 s refresh, and is not the
# steady state's.
settle_calls() {
    local last now quiet=0
    last=$(calls)
    for _ in $(seq 60); do
        sleep 1
        now=$(calls)
        if [[ $now == "$last" ]]; then
            quiet=$((quiet + 1))
            ((quiet < 6)) || return 0
        else
            quiet=0
            last=$now
        fi
    done
}

# run_one MODE(standalone|cluster) ROUND: appends one line per phase to results.tsv.
run_one() {
    local mode=$1 round=$2
    local dir=$OUT_DIR/$mode-r$round
    mkdir -p "$dir"
    local sink_pid sink_port gov_pid ingest_port stats_port redis_pid= redis_port
    start_sink "$dir" "$LOAD_CPUS" || return 1
    local limit=$((SERIES * 2 / METRICS)) churn_limit
    # Churn: the N first series and about half of the new ones, per metric name.
    churn_limit=$(((SERIES + (CYCLES - 1) * ((SERIES + 5) / 10) / 2 + METRICS - 1) / METRICS))
    printf 'defaults:\n  max_cardinality: %s\n' "$limit" >"$dir/limits.yaml"
    local extra=()
    if [[ $mode == cluster ]]; then
        redis_port=$(free_port) || die "no free port for redis-server"
        taskset -c "$LOAD_CPUS" "$REDIS" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
            >"$dir/redis.log" 2>&1 &
        redis_pid=$!
        pids+=("$redis_pid")
        wait_for "$START_TIMEOUT" file_has "$dir/redis.log" 'Ready to accept connections' || {
            log "$dir: redis-server did not start"
            return 1
        }
        extra=(-cluster-redis-addr="127.0.0.1:$redis_port")
    fi
    start_governor "$dir" "$PROXY_CPUS" -exporter-endpoint="http://127.0.0.1:$sink_port/api/v1/write" \
        -limits-config="$dir/limits.yaml" -parallelism="$proxy_ncpus" "${extra[@]}" || return 1

    # steady: warm-up, then the measured cycles of the same series.
    loadgen "$dir" warmup 0 1 1 || return 1
    [[ -z $redis_pid ]] || settle_calls
    curl -sf --max-time 5 "http://127.0.0.1:$stats_port/metrics" >"$dir/warmup.metrics" || true
    local c0 cpu0 cpu1 c1
    c0=$(calls)
    cpu0=$(cpu_ticks "$gov_pid")
    loadgen "$dir" steady 0 "$CYCLES" 1 || return 1
    cpu1=$(cpu_ticks "$gov_pid")
    c1=$(calls)
    record "$dir/steady.json" steady "$mode" "$round" "$cpu0" "$cpu1" "$((c1 - c0))" 0 0 0
    curl -sf --max-time 5 "http://127.0.0.1:$stats_port/metrics" >"$dir/steady.metrics" || true

    # churn: a new limit set for the new seed's series (SIGHUP reloads the limits file).
    stop "$gov_pid"
    printf 'defaults:\n  max_cardinality: %s\n' "$churn_limit" >"$dir/limits.yaml"
    [[ -z $redis_pid ]] || redis-cli -p "$redis_port" FLUSHALL >/dev/null
    start_governor "$dir" "$PROXY_CPUS" -exporter-endpoint="http://127.0.0.1:$sink_port/api/v1/write" \
        -limits-config="$dir/limits.yaml" -parallelism="$proxy_ncpus" "${extra[@]}" || return 1
    local r0=0 r1=0
    c0=$(calls)
    cpu0=$(cpu_ticks "$gov_pid")
    [[ -z $redis_pid ]] || r0=$(cpu_ticks "$redis_pid")
    loadgen "$dir" churn 0.1 "$CYCLES" 2 || return 1
    cpu1=$(cpu_ticks "$gov_pid")
    [[ -z $redis_pid ]] || r1=$(cpu_ticks "$redis_pid")
    c1=$(calls)
    local fresh=$(((CYCLES - 1) * ((SERIES + 5) / 10) + SERIES))
    record "$dir/churn.json" churn "$mode" "$round" "$cpu0" "$cpu1" "$((c1 - c0))" "$r0" "$r1" "$fresh"
    curl -sf --max-time 5 "http://127.0.0.1:$stats_port/metrics" >"$dir/churn.metrics" || true
    stop "$gov_pid"
    stop "$sink_pid"
    [[ -z $redis_pid ]] || stop "$redis_pid"
}

# record JSON PHASE MODE ROUND CPU0 CPU1 CALLS REDIS0 REDIS1 NEW_SERIES
record() {
    local json=$1 phase=$2 mode=$3 round=$4 cpu0=$5 cpu1=$6 ncalls=$7 r0=$8 r1=$9 fresh=${10}
    local samples requests p50 p99
    read -r samples requests p50 p99 < <(jq -r \
        '[.samples_ok, .requests_ok, .latency_ms.p50, .latency_ms.p99] | @tsv' "$json")
    awk -v ph="$phase" -v m="$mode" -v r="$round" -v s="$samples" -v q="$requests" -v a="$cpu0" \
        -v b="$cpu1" -v c="$ncalls" -v p50="$p50" -v p99="$p99" -v r0="$r0" -v r1="$r1" \
        -v f="$fresh" -v t="$clk_tck" 'BEGIN {
            cpu = (b - a) / t; rcpu = (r1 - r0) / t
            printf "%s\t%s\t%s\t%.4f\t%.4f\t%s\t%s\t%.3g\t%.3g\n", ph, m, r, cpu / s * 1e6,
                c / q, p50, p99, (f > 0 ? rcpu / f * 1e6 : 0), (rcpu > 0 ? f / rcpu : 0)
        }' >>"$results"
    log "$(tail -n1 "$results")"
}

failed_runs=0
log "results in $OUT_DIR; governor on CPUs $PROXY_CPUS, loadgen, sink and redis on CPUs $LOAD_CPUS"
for ((r = 1; r <= ROUNDS; r++)); do
    for mode in standalone cluster; do
        run_one "$mode" "$r" || failed_runs=$((failed_runs + 1))
    done
done

median() {
    awk -F'\t' -v ph="$1" -v m="$2" -v c="$3" '$1 == ph && $2 == m {print $c}' "$results" |
        sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
echo "| phase | mode | CPU-s per M samples | Redis calls per request | p50 ms | p99 ms | Redis CPU-us per new series | new series per Redis CPU-s |"
echo "|---|---|---|---|---|---|---|---|"
for phase in steady churn; do
    for mode in standalone cluster; do
        echo "| $phase | $mode | $(median "$phase" "$mode" 4) | $(median "$phase" "$mode" 5) | $(median "$phase" "$mode" 6) | $(median "$phase" "$mode" 7) | $(median "$phase" "$mode" 8) | $(median "$phase" "$mode" 9) |"
    done
done
echo
for phase in steady churn; do
    awk -v a="$(median "$phase" cluster 4)" -v b="$(median "$phase" standalone 4)" -v p="$phase" \
        'BEGIN {if (b > 0) printf "%s: cluster / standalone CPU per sample = %.2fx (target for steady: <= 1.1x)\n", p, a / b}'
done
echo "raw results: $results"
((failed_runs == 0)) || die "$failed_runs run(s) failed; see the logs in $OUT_DIR"
