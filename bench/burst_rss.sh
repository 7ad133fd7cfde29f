#!/usr/bin/env bash
# bench/burst_rss.sh: the governor's memory under a burst of large concurrent requests, and after
# it (issue 15): CONNECTIONS connections post one BODY_BYTES remote-write request each, at once
# (bench/burst), to a governor in observe-only mode with its default in-flight byte budget (or
# BUDGET). Records the RSS before (idle, after one warm-up request), its peak during the burst
# (VmHWM), the answers (204 / 429), the slowest answer, and how long after the burst RSS took to
# fall under twice the idle RSS (polled every 0.5 s for up to SETTLE_S seconds). Prints one
# markdown table row per round and the target: peak <= budget + a fixed overhead, back under 2x
# idle within a minute.
#
# Environment (defaults in brackets):
#   CONNECTIONS [400]  BODY_BYTES [5000000]  ROUNDS [3]  BUDGET [default of the daemon]
#   SETTLE_S [60]  PROXY_CPUS [1]  LOAD_CPUS [0]
#   BUILD_DIR [build/rel]  GOVERNOR, BURST [in BUILD_DIR]; BUILD [1] builds them
#   GOVERNOR_FLAGS  extra flags for the governor   OUT_DIR [a new temp dir]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$repo/build/rel}
GOVERNOR=${GOVERNOR:-$BUILD_DIR/metrics-governor}
BURST=${BURST:-$BUILD_DIR/bench/burst}
CONNECTIONS=${CONNECTIONS:-400}
BODY_BYTES=${BODY_BYTES:-5000000}
ROUNDS=${ROUNDS:-3}
BUDGET=${BUDGET:-}
SETTLE_S=${SETTLE_S:-60}
PROXY_CPUS=${PROXY_CPUS:-1}
LOAD_CPUS=${LOAD_CPUS:-0}
BUILD=${BUILD:-1}
GOVERNOR_FLAGS=${GOVERNOR_FLAGS:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/mg-burst.XXXXXX)}
LIB_NAME=burst_rss.sh
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for tool in curl jq taskset awk; do command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --e2e)"; done
if [[ $BUILD == 1 && (! -x $GOVERNOR || ! -x $BURST) ]]; then
    build_release 2 metrics-governor burst
fi
mkdir -p "$OUT_DIR"
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

echo "| round | in-flight budget | idle RSS | peak RSS | peak - idle | answers | slowest | RSS < 2x idle after |"
echo "|---|---|---|---|---|---|---|---|"
for ((round = 1; round <= ROUNDS; round++)); do
    dir=$OUT_DIR/r$round
    mkdir -p "$dir"
    budget_flag=()
    [[ -z $BUDGET ]] || budget_flag=(-receiver-max-inflight-bytes="$BUDGET")
    # shellcheck disable=SC2086 # GOVERNOR_FLAGS is a list of flags
    start_governor "$dir" "$PROXY_CPUS" -parallelism=1 "${budget_flag[@]}" -receiver-max-connections=10000 \
        $GOVERNOR_FLAGS || die "$dir: the governor did not start"
    metrics_url=http://127.0.0.1:$stats_port/metrics
    # A warm-up request (the first allocations of a decode), then the idle RSS.
    taskset -c "$LOAD_CPUS" "$BURST" -port="$ingest_port" -connections=1 -body-bytes="$BODY_BYTES" >/dev/null
    sleep 6  # one refresh period of the daemon (5 s), which also gives memory back after a burst
    idle=$(vm_rss_kb "$gov_pid")
    limit=$(metric_sum "$metrics_url" metrics_governor_http_inflight_limit_bytes)
    taskset -c "$LOAD_CPUS" "$BURST" -port="$ingest_port" -connections="$CONNECTIONS" -body-bytes="$BODY_BYTES" \
        >"$dir/burst.json"
    peak=$(vm_hwm_kb "$gov_pid")
    start=$SECONDS
    settled=never
    while ((SECONDS - start <= SETTLE_S)); do
        if (($(vm_rss_kb "$gov_pid") < 2 * idle)); then
            settled="$((SECONDS - start)) s"
            break
        fi
        sleep 0.5
    done
    answers=$(jq -r '.statuses | to_entries | map("\(.value)x\(.key)") | join(" ")' "$dir/burst.json")
    slowest=$(jq -r '.slowest_ms' "$dir/burst.json")
    alive "$gov_pid" || die "$dir: the governor died (see $dir/proxy.log)"
    stop "$gov_pid"
    awk -v r="$round" -v l="$limit" -v i="$idle" -v p="$peak" -v a="$answers" -v s="$slowest" -v t="$settled" \
        'BEGIN {printf "| %s | %.0f MiB | %.0f MiB | %.0f MiB | %.0f MiB | %s | %.1f s | %s |\n", r, l / 1048576, i / 1024, p / 1024, (p - i) / 1024, a, s / 1000, t}'
done
log "raw results in $OUT_DIR"
