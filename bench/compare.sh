#!/usr/bin/env bash
# bench/compare.sh: metrics-governor against vmagent, side by side on loopback (issue 7).
#
# For each scenario and round, in turn (governor, vmagent, governor, vmagent, ...), a fresh null
# sink (bench/null_sink: answers 204) and a fresh proxy forwarding to it are started, the load
# generator sends a fixed amount of work (-cycles) as fast as the proxy answers, and the script
# records: samples/s and request latency (the loadgen's JSON report), the proxy's CPU seconds
# during the run (utime + stime from /proc/PID/stat), its peak RSS (VmHWM from
# /proc/PID/status) and the series it dropped (its own /metrics). A second phase then sends the
# same series to fresh processes for FIXED_DURATION at one fixed rate for both (RATE_FRACTION of
# the slower proxy's median samples/s) for the latency comparison. It prints a markdown table (medians over the
# rounds) and the ratios against the issue's targets; it exits non-zero only when a run failed
# (a process died, nothing reached the sink, a tool is missing), never on a missed target.
#
# Scenarios (the series are spread evenly over the metric names):
#   1  200k series, 100 names; limits on but never biting
#   2  1M series, 1000 names; limits on but never biting
#   3  200k series, 100 names, 10% of the series replaced by new ones every cycle; the limits
#      admit about half of the new series (governor: per metric name, defaults.max_cardinality;
#      vmagent: -remoteWrite.maxHourlySeries over all series)
# each on every body shape of SHAPES (issue 23):
#   synthetic   the load generator's own series: 8 labels, the same names on every series, 1000
#               series/request (reported as scenario 1, 2, 3)
#   prometheus  the series of a real Prometheus recorded by bench/capture_prometheus.sh
#               (SHAPE_FILE; loadgen -shape): 3-9 labels, 500 series/request as Prometheus 2.42
#               sends them (reported as 1p, 2p, 3p)
# With UNPINNED=1 each scenario and shape also runs ROUNDS more rounds of both proxies as a user
# starts them: no taskset, no -parallelism, default settings (phase "free", its own table).
#
# CPUs: both proxies run under `taskset -c $PROXY_CPUS` (Go sizes GOMAXPROCS from the affinity
# mask; the governor gets -parallelism = the number of those CPUs); the loadgen and the sink run
# under `taskset -c $LOAD_CPUS`.
#
# Environment (defaults in brackets):
#   SCENARIOS ["1 2 3"]  ROUNDS [3]  CONCURRENCY [4] loadgen connections
#   SHAPES ["synthetic prometheus"]  SHAPE_FILE [bench/shapes/prometheus.txt]  UNPINNED [1]
#   CYCLES_1 [10] CYCLES_2 [3] CYCLES_3 [10]  cycles per run (fixed work: series x cycles samples)
#   SCALE [1]            divide every series count by this (a quick check: SCALE=10)
#   RATE_FRACTION [0.5]  fixed-rate phase at this fraction of the slower proxy's samples/s
#   FIXED_DURATION [20s] length of each fixed-rate run (loadgen -duration; the max phase uses cycles)
#   PROXY_CPUS [1]  LOAD_CPUS [0]  CPU lists for taskset
#   BUILD_DIR [build/rel]  GOVERNOR, LOADGEN, NULL_SINK [in BUILD_DIR]  VMAGENT [vmagent in PATH]
#   BUILD [1]            configure and build the three binaries in BUILD_DIR (Release) when missing
#   JOBS [1]             build parallelism
#   GOVERNOR_FLAGS, VMAGENT_FLAGS  extra flags for the proxies (word-split)
#   GOVERNOR_B []        a second governor binary (another build): run as a third proxy, in turn
#                        with the others (A B C A B C), with its ratios to GOVERNOR in the report:
#                        an A/B of a change measured in one run (GOVERNOR_FLAGS apply to both)
#   PROFILE [0]          1: one more governor run per scenario under perf record -F PERF_FREQ [999]
#                        --call-graph=PERF_CALL_GRAPH [fp; dwarf for a Release build, which has
#                        no frame pointers] (perf.data in its run directory; not in the table)
#   OUT_DIR [a new temp dir]  raw results (results.tsv), reports and logs of every run
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
LOADGEN=${LOADGEN:-$BUILD_DIR/metrics-governor-loadgen}
NULL_SINK=${NULL_SINK:-$BUILD_DIR/bench/null_sink}
VMAGENT=${VMAGENT:-$(command -v vmagent || true)}
SCENARIOS=${SCENARIOS:-"1 2 3"}
SHAPES=${SHAPES:-"synthetic prometheus"}
SHAPE_FILE=${SHAPE_FILE:-$repo/bench/shapes/prometheus.txt}
UNPINNED=${UNPINNED:-1}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-4}
CYCLES_1=${CYCLES_1:-10}
CYCLES_2=${CYCLES_2:-3}
CYCLES_3=${CYCLES_3:-10}
SCALE=${SCALE:-1}
RATE_FRACTION=${RATE_FRACTION:-0.5}
FIXED_DURATION=${FIXED_DURATION:-20s}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BUILD=${BUILD:-1}
JOBS=${JOBS:-1}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
GOVERNOR_B=${GOVERNOR_B:-}
VMAGENT_FLAGS=${VMAGENT_FLAGS:-}
PROFILE=${PROFILE:-0}
PERF_FREQ=${PERF_FREQ:-999}
PERF_CALL_GRAPH=${PERF_CALL_GRAPH:-fp}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t mg-compare.XXXXXX)}
LABELS=8

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
LIB_NAME=compare.sh

# ---- preconditions ----
if [[ -z $VMAGENT || ! -x $VMAGENT ]]; then
    die "vmagent not found (looked for ${VMAGENT:-vmagent in PATH}); install Debian's victoria-metrics package (scripts/install-deps.sh --e2e) or set VMAGENT=/path/to/vmagent"
fi
for tool in taskset curl jq ss awk; do
    command -v "$tool" >/dev/null || die "$tool not found; it is needed to run and measure the processes"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS; want a positive integer"
[[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "SCALE=$SCALE; want a positive integer"
for sc in $SCENARIOS; do
    [[ $sc =~ ^[123]$ ]] || die "SCENARIOS: \"$sc\"; want a list of 1, 2, 3"
done
keys=()
for shape in $SHAPES; do
    case $shape in
    synthetic) for sc in $SCENARIOS; do keys+=("$sc"); done ;;
    prometheus)
        [[ -r $SHAPE_FILE ]] || die "SHAPE_FILE=$SHAPE_FILE is not readable (bench/capture_prometheus.sh writes one)"
        for sc in $SCENARIOS; do keys+=("${sc}p"); done
        ;;
    *) die "SHAPES: \"$shape\"; want a list of synthetic, prometheus" ;;
    esac
done
if [[ $PROFILE == 1 ]]; then command -v perf >/dev/null || die "PROFILE=1 needs perf (linux-perf)"; fi
proxy_ncpus=$(taskset -c "$PROXY_CPUS" nproc) || die "PROXY_CPUS=$PROXY_CPUS is not a usable CPU list"
taskset -c "$LOAD_CPUS" true || die "LOAD_CPUS=$LOAD_CPUS is not a usable CPU list"

if [[ ! -x $GOVERNOR || ! -x $LOADGEN || ! -x $NULL_SINK ]]; then
    [[ $BUILD == 1 ]] || die "binaries missing ($GOVERNOR, $LOADGEN, $NULL_SINK) and BUILD=$BUILD"
    build_release "$JOBS" metrics-governor metrics-governor-loadgen null_sink
fi
proxies=(governor vmagent)
[[ -z $GOVERNOR_B ]] || proxies=(governor governor_b vmagent)
for bin in "$GOVERNOR" "$LOADGEN" "$NULL_SINK" ${GOVERNOR_B:+"$GOVERNOR_B"}; do
    [[ -x $bin ]] || die "$bin is missing or not executable"
done
mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.tsv
: >"$results"

trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- scenarios ----
# scenario KEY (1, 2, 3, or 1p, 2p, 3p for the prometheus shape). Sets: series metrics churn
# cycles gov_limit vm_limit, and the load generator's body flags: body_args, spr (series per
# request), shape_desc.
scenario() {
    local sc=${1%p}
    if [[ $1 == *p ]]; then
        spr=500
        body_args=(-shape="$SHAPE_FILE" -series-per-request="$spr")
        shape_desc="prometheus shape, $spr series/request"
    else
        spr=1000
        body_args=(-labels="$LABELS" -series-per-request="$spr")
        shape_desc="$LABELS labels, $spr series/request"
    fi
    case $sc in
    1) series=200000 metrics=100 churn=0 cycles=$CYCLES_1 ;;
    2) series=1000000 metrics=1000 churn=0 cycles=$CYCLES_2 ;;
    3) series=200000 metrics=100 churn=0.1 cycles=$CYCLES_3 ;;
    esac
    series=$((series / SCALE))
    ((metrics <= series)) || metrics=$series
    if [[ $sc == 3 ]]; then
        # round(0.1 N) new series per cycle after the first; admit the N first and half the new.
        local fresh=$(((cycles - 1) * ((series + 5) / 10)))
        vm_limit=$((series + fresh / 2))
        gov_limit=$(((vm_limit + metrics - 1) / metrics))
    else
        vm_limit=$((series * 2))
        gov_limit=$((series * 2 / metrics))
    fi
}

# run_one KEY PHASE(max|fixed|prof|free) PROXY(governor|vmagent) ROUND RATE
# Appends a line to results.tsv; returns 1 when the run failed. Phase free runs every process
# unpinned and the proxies with their default settings.
run_one() {
    local sc=$1 phase=$2 proxy=$3 round=$4 rate=$5
    local dir=$OUT_DIR/s$sc-$phase-$proxy-r$round
    mkdir -p "$dir"
    scenario "$sc"
    local pcpus=$PROXY_CPUS lcpus=$LOAD_CPUS parallelism=(-parallelism="$proxy_ncpus")
    if [[ $phase == free ]]; then
        pcpus="" lcpus="" parallelism=()
    fi

    local sink_pid sink_port
    start_sink "$dir" "$lcpus" || return 1
    local backend=http://127.0.0.1:$sink_port/api/v1/write

    local proxy_pid ingest_port metrics_url drop_metric
    if [[ $proxy == governor* ]]; then
        local binary=$GOVERNOR
        [[ $proxy == governor ]] || binary=$GOVERNOR_B
        printf 'defaults:\n  max_cardinality: %s\n  action: drop\n' "$gov_limit" >"$dir/limits.yaml"
        local gov_pid stats_port
        # shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
        GOVERNOR=$binary start_governor "$dir" "$pcpus" -exporter-endpoint="$backend" -limits-config="$dir/limits.yaml" \
            "${parallelism[@]}" $GOVERNOR_FLAGS || return 1
        proxy_pid=$gov_pid
        metrics_url=http://127.0.0.1:$stats_port/metrics
        drop_metric=metrics_governor_series_dropped_total
    else
        # shellcheck disable=SC2086 # VMAGENT_FLAGS is a list of flags
        pin_bg "$pcpus" "$VMAGENT" -httpListenAddr=127.0.0.1:0 -remoteWrite.url="$backend" \
            -remoteWrite.tmpDataPath="$dir/vmagent-data" -remoteWrite.maxHourlySeries="$vm_limit" \
            $VMAGENT_FLAGS >"$dir/proxy.log" 2>&1 &
        proxy_pid=$!
        pids+=("$proxy_pid")
        wait_for "$START_TIMEOUT" has_listen_port "$proxy_pid" || {
            log "$dir: vmagent did not start listening (see $dir/proxy.log)"
            return 1
        }
        ingest_port=$(listen_port "$proxy_pid")
        metrics_url=http://127.0.0.1:$ingest_port/metrics
        wait_for "$START_TIMEOUT" http_ok "$metrics_url" || {
            log "$dir: vmagent does not answer $metrics_url"
            return 1
        }
        drop_metric=vmagent_hourly_series_limit_rows_dropped_total
    fi

    local amount=-cycles=$cycles
    [[ $phase != fixed ]] || amount=-duration=$FIXED_DURATION
    local cpu0 rc=0 perf_pid=
    if [[ $phase == prof ]]; then
        # perf's own work is not the proxy's, but its sampling slows the proxy a little: the
        # prof runs are kept out of the table.
        perf record -F "$PERF_FREQ" --call-graph="$PERF_CALL_GRAPH" -p "$proxy_pid" -o "$dir/perf.data" >"$dir/perf.log" 2>&1 &
        perf_pid=$!
        pids+=("$perf_pid")
        wait_for "$START_TIMEOUT" test -s "$dir/perf.data" || true  # written once perf is attached
    fi
    cpu0=$(cpu_ticks "$proxy_pid")
    pin "$lcpus" "$LOADGEN" -url="http://127.0.0.1:$ingest_port/api/v1/write" \
        -series="$series" -metrics="$metrics" "${body_args[@]}" \
        -churn="$churn" "$amount" -concurrency="$CONCURRENCY" -rate="$rate" -seed="${sc%p}" \
        -report=json >"$dir/loadgen.json" 2>"$dir/loadgen.err" || rc=$?
    if ((rc > 1)) || ! jq -e .samples_ok "$dir/loadgen.json" >/dev/null 2>&1; then
        log "$dir: the load generator failed (exit $rc, see $dir/loadgen.err)"
        return 1
    fi
    wait_sink_quiet "$sink_port" || {
        log "$dir: the sink kept receiving for 2 minutes"
        return 1
    }
    alive "$proxy_pid" || {
        log "$dir: $proxy died (see $dir/proxy.log)"
        return 1
    }
    local cpu1 hwm dropped sreq sbytes
    cpu1=$(cpu_ticks "$proxy_pid")
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
    fi
    hwm=$(vm_hwm_kb "$proxy_pid")
    dropped=$(metric_sum "$metrics_url" "$drop_metric")
    curl -sf --max-time 5 "$metrics_url" >"$dir/metrics.txt" || true
    sreq=$(sink_requests "$sink_port")
    sbytes=$(sink_bytes "$sink_port")
    stop "$proxy_pid"
    stop "$sink_pid"
    if ((sreq == 0)); then
        log "$dir: nothing reached the sink (see $dir/proxy.log)"
        return 1
    fi
    local samples_ok sps p50 p99 failed
    read -r samples_ok sps p50 p99 failed < <(jq -r \
        '[.samples_ok, .samples_per_second, .latency_ms.p50, .latency_ms.p99, .requests_failed] | @tsv' \
        "$dir/loadgen.json")
    local cpu_s
    cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$clk_tck" 'BEGIN {printf "%.3f", (b - a) / t}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$phase" "$proxy" "$round" \
        "$samples_ok" "$sps" "$cpu_s" "$hwm" "$p50" "$p99" "$dropped" "$failed" "$sreq" "$sbytes" >>"$results"
    log "$(printf 's%s %-5s %-8s r%s: %s samples/s, %s CPU-s, %s MiB peak, p50 %s ms, p99 %s ms, %s dropped, %s failed requests' \
        "$sc" "$phase" "$proxy" "$round" "$(printf '%.0f' "$sps")" "$cpu_s" "$((hwm / 1024))" "$p50" "$p99" "$dropped" "$failed")"
}

# median SC PHASE PROXY COLUMN: the median of a results.tsv column (1-based) over the rounds.
median() {
    awk -F'\t' -v sc="$1" -v ph="$2" -v px="$3" -v c="$4" '$1 == sc && $2 == ph && $3 == px {print $c}' "$results" |
        sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# ---- the runs ----
failed_runs=0
declare -A fixed_rate
log "results in $OUT_DIR; proxies on CPUs $PROXY_CPUS ($proxy_ncpus), loadgen and sink on CPUs $LOAD_CPUS"
for sc in "${keys[@]}"; do
    scenario "$sc"
    for ((r = 1; r <= ROUNDS; r++)); do
        for proxy in "${proxies[@]}"; do
            run_one "$sc" max "$proxy" "$r" 0 || failed_runs=$((failed_runs + 1))
        done
    done
    slower=$(awk -v a="$(median "$sc" max governor 6)" -v b="$(median "$sc" max vmagent 6)" \
        'BEGIN {if (a == "nan" || b == "nan") print 0; else print (a < b ? a : b)}')
    # loadgen -rate is in requests per second.
    rate=$(awk -v s="$slower" -v f="$RATE_FRACTION" -v n="$spr" 'BEGIN {printf "%.1f", s * f / n}')
    fixed_rate[$sc]=$rate
    if awk -v r="$rate" 'BEGIN {exit !(r > 0)}'; then
        for ((r = 1; r <= ROUNDS; r++)); do
            for proxy in "${proxies[@]}"; do
                run_one "$sc" fixed "$proxy" "$r" "$rate" || failed_runs=$((failed_runs + 1))
            done
        done
    fi
    if [[ $UNPINNED == 1 ]]; then
        for ((r = 1; r <= ROUNDS; r++)); do
            for proxy in "${proxies[@]}"; do
                run_one "$sc" free "$proxy" "$r" 0 || failed_runs=$((failed_runs + 1))
            done
        done
    fi
done

# ---- profiles (PROFILE=1): one more governor run per scenario under perf record ----
if [[ $PROFILE == 1 ]]; then
    for sc in "${keys[@]}"; do
        if run_one "$sc" prof governor 1 0; then
            log "profile of scenario $sc: perf report -i $OUT_DIR/s$sc-prof-governor-r1/perf.data --no-children"
        else
            failed_runs=$((failed_runs + 1))
        fi
    done
fi

# ---- the report ----
fmt() { awk -v v="$1" -v f="$2" 'BEGIN {if (v == "nan") print "n/a"; else printf f, v}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b == 0) print "nan"; else printf "%.2f", a / b}'; }

echo
echo "Medians of $ROUNDS rounds (A B A B); $CONCURRENCY loadgen connections; proxies on CPU(s) $PROXY_CPUS, loadgen and sink on CPU(s) $LOAD_CPUS."
echo
echo "| scenario | proxy | samples/s (max) | CPU-s per 1M samples | samples per CPU-s | peak RSS (MiB) | p50 / p99 ms (max rate) | fixed rate (samples/s) | p50 / p99 ms (fixed rate) | series dropped | failed requests |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
declare -A spc rss p99f cpm
# per_cpu KEY PHASE PROXY: samples per CPU-second per round, then the median (not a ratio of
# medians).
per_cpu() {
    awk -F'\t' -v sc="$1" -v ph="$2" -v px="$3" '$1 == sc && $2 == ph && $3 == px && $7 > 0 {print $5 / $7}' "$results" |
        sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
for sc in "${keys[@]}"; do
    scenario "$sc"
    desc="$sc: $series series, $metrics names, $shape_desc"
    [[ $churn == 0 ]] || desc="$desc, churn $churn x $cycles cycles"
    for proxy in "${proxies[@]}"; do
        samples=$(median "$sc" max "$proxy" 5)
        sps=$(median "$sc" max "$proxy" 6)
        cpu=$(median "$sc" max "$proxy" 7)
        per_cpu=$(per_cpu "$sc" max "$proxy")
        spc[$sc,$proxy]=$per_cpu
        rss[$sc,$proxy]=$(median "$sc" max "$proxy" 8)
        p99f[$sc,$proxy]=$(median "$sc" fixed "$proxy" 10)
        cpu_per_m=$(awk -v c="$cpu" -v s="$samples" 'BEGIN {if (c == "nan" || s == 0) print "nan"; else print c / s * 1e6}')
        cpm[$sc,$proxy]=$cpu_per_m
        echo "| $desc | $proxy | $(fmt "$sps" '%.0f') | $(fmt "$cpu_per_m" '%.3f') | $(fmt "$per_cpu" '%.0f') | $(fmt "${rss[$sc,$proxy]}" '%.0f' | awk '{ if ($1 == "n/a") print; else printf "%.0f", $1 / 1024 }') | $(fmt "$(median "$sc" max "$proxy" 9)" '%.2f') / $(fmt "$(median "$sc" max "$proxy" 10)" '%.2f') | $(fmt "$(awk -v r="${fixed_rate[$sc]}" -v n="$spr" 'BEGIN {print r * n}')" '%.0f') | $(fmt "$(median "$sc" fixed "$proxy" 9)" '%.2f') / $(fmt "${p99f[$sc,$proxy]}" '%.2f') | $(fmt "$(median "$sc" max "$proxy" 11)" '%.0f') | $(fmt "$(median "$sc" max "$proxy" 12)" '%.0f') |"
    done
done
if [[ $UNPINNED == 1 ]]; then
    echo
    echo "Unpinned, default settings (no taskset, no -parallelism), medians of $ROUNDS rounds:"
    echo
    echo "| scenario | proxy | samples/s | CPU-s per 1M samples | samples per CPU-s | peak RSS (MiB) | p50 / p99 ms |"
    echo "|---|---|---|---|---|---|---|"
    for sc in "${keys[@]}"; do
        scenario "$sc"
        for proxy in "${proxies[@]}"; do
            samples=$(median "$sc" free "$proxy" 5)
            cpu=$(median "$sc" free "$proxy" 7)
            echo "| $sc | $proxy | $(fmt "$(median "$sc" free "$proxy" 6)" '%.0f') | $(fmt "$(awk -v c="$cpu" -v s="$samples" 'BEGIN {if (c == "nan" || s == 0) print "nan"; else print c / s * 1e6}')" '%.3f') | $(fmt "$(per_cpu "$sc" free "$proxy")" '%.0f') | $(fmt "$(median "$sc" free "$proxy" 8)" '%.0f' | awk '{ if ($1 == "n/a") print; else printf "%.0f", $1 / 1024 }') | $(fmt "$(median "$sc" free "$proxy" 9)" '%.2f') / $(fmt "$(median "$sc" free "$proxy" 10)" '%.2f') |"
        done
    done
fi
echo
echo "Ratios governor / vmagent (targets: samples per CPU-second >= 3 in scenarios 1 and 2 and >= 2.5 in 1p, with the governor at <= 0.45 CPU-s per 1M samples in 1p; peak RSS <= 0.5 in scenario 2 and <= 0.2 in 1p; p99 at the same fixed rate <= 1):"
echo
verdict() { # value op target
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "nan") { print "n/a"; exit }
        met = (op == ">=") ? (v >= t) : (v <= t)
        if (met) printf "%s (met)", v
        else if (op == ">=") printf "%s (missed: %.2fx short)", v, t / v
        else printf "%s (missed: %.2fx over)", v, v / t }'
}
echo "| scenario | samples per CPU-s | peak RSS | p99 at fixed rate | governor CPU-s per 1M samples |"
echo "|---|---|---|---|---|"
for sc in "${keys[@]}"; do
    c=$(ratio "${spc[$sc,governor]}" "${spc[$sc,vmagent]}")
    m=$(ratio "${rss[$sc,governor]}" "${rss[$sc,vmagent]}")
    p=$(ratio "${p99f[$sc,governor]}" "${p99f[$sc,vmagent]}")
    g=$(fmt "${cpm[$sc,governor]}" '%.3f')
    case $sc in
    1 | 2) c_v=$(verdict "$c" ">=" 3) ;;
    1p) c_v=$(verdict "$c" ">=" 2.5) ;;
    *) c_v="$c (no target)" ;;
    esac
    case $sc in
    2) m_v=$(verdict "$m" "<=" 0.5) ;;
    1p) m_v=$(verdict "$m" "<=" 0.2) ;;
    *) m_v="$m (no target)" ;;
    esac
    if [[ $sc == 1p ]]; then g=$(verdict "$g" "<=" 0.45); else g="$g (no target)"; fi
    echo "| $sc | $c_v | $m_v | $(verdict "$p" "<=" 1) | $g |"
done
if [[ -n $GOVERNOR_B ]]; then
    echo
    echo "A/B: governor_b ($GOVERNOR_B) / governor ($GOVERNOR), medians of the per-round figures (max-rate phase; below 1 in CPU and RSS, above 1 in samples per CPU-s: B is better):"
    echo
    echo "| scenario | samples per CPU-s | CPU-s per 1M samples | peak RSS | upstream requests (A; B) |"
    echo "|---|---|---|---|---|"
    for sc in "${keys[@]}"; do
        echo "| $sc | $(ratio "${spc[$sc,governor_b]}" "${spc[$sc,governor]}") | $(ratio "${cpm[$sc,governor_b]}" "${cpm[$sc,governor]}") | $(ratio "${rss[$sc,governor_b]}" "${rss[$sc,governor]}") | $(fmt "$(median "$sc" max governor 13)" '%.0f'); $(fmt "$(median "$sc" max governor_b 13)" '%.0f') |"
    done
fi
echo
echo "Raw results: $results (columns: scenario phase proxy round samples_ok samples/s cpu_s vmhwm_kB p50_ms p99_ms dropped failed_requests sink_requests sink_bytes)"
if ((failed_runs > 0)); then
    log "$failed_runs run(s) failed; see the messages above"
    exit 1
fi
