# shellcheck shell=bash disable=SC2034  # sourced: the variables it sets are for the caller
# bench/lib.sh: building, process handling and /proc measurements shared by the bench scripts
# Sourced, not run. The caller sets LIB_NAME (its name in messages) and may set
# START_TIMEOUT and QUIET_SECONDS before calling the functions that read them.
# Every process a function starts is appended to `pids`; `cleanup` (the callers' EXIT trap)
# kills what is left.

START_TIMEOUT=${START_TIMEOUT:-30}  # seconds for a process to start listening
QUIET_SECONDS=${QUIET_SECONDS:-2}   # the sink saw nothing new this long: the proxy forwarded all
clk_tck=$(getconf CLK_TCK)

die() {
    echo "${LIB_NAME:-bench}: $*" >&2
    exit 1
}
log() { echo "${LIB_NAME:-bench}: $*" >&2; }


pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# stop PID: SIGTERM, then SIGKILL after 30 s.
stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails at the deadline.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# build_release JOBS TARGET...: configures BUILD_DIR (the caller's) as a Release build of the
# governor and the bench tools, without the tests, from this checkout, and builds TARGETs.
build_release() {
    local jobs=$1 src
    shift
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    log "building Release binaries in $BUILD_DIR"
    cmake -S "$src" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=ON >&2
    cmake --build "$BUILD_DIR" -j"$jobs" --target "$@" >&2
}

alive() { kill -0 "$1" 2>/dev/null; }

# pin CPUS COMMAND...: runs COMMAND under taskset -c CPUS, or as it is when CPUS is empty.
pin() {
    local cpus=$1
    shift
    if [[ -n $cpus ]]; then taskset -c "$cpus" "$@"; else "$@"; fi
}

# pin_bg CPUS COMMAND... &: the same for a background process. A function run with & is a
# subshell of its own; exec makes $! the command itself (taskset execs it in turn), so its
# /proc figures and listening ports are found under $!.
pin_bg() {
    local cpus=$1
    shift
    if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
file_has() { grep -q "$2" "$1" 2>/dev/null; }
http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }

# The port after the last ':' of the first "addr" of the JSON log line containing MSG.
log_port() {
    grep -F "\"$2\"" "$1" | head -n1 | grep -o '"addr":"[^"]*"' | head -n1 | sed 's/.*:\([0-9]*\)"$/\1/'
}

# The TCP port PID listens on (vmagent picks it with :0 and does not log it).
listen_port() {
    ss -Hltnp 2>/dev/null | grep -F "pid=$1," | awk '{print $4}' | sed 's/.*://' | head -n1
}

# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15; comm may hold spaces).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    # After "pid (comm) " the fields start at 3 (state): utime is the 12th, stime the 13th.
    awk '{print $12 + $13}' <<<"$stat"
}
has_listen_port() { [[ -n $(listen_port "$1") ]]; }
vm_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

sink_bytes() { curl -sf --max-time 2 "http://127.0.0.1:$1/stats" | awk '/^bytes/ {print $2}'; }
sink_requests() { curl -sf --max-time 2 "http://127.0.0.1:$1/stats" | awk '/^requests/ {print $2}'; }

# Waits until the sink's byte count stayed the same for QUIET_SECONDS.
wait_sink_quiet() {
    local port=$1 last=-1 now stable=0 deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
        now=$(sink_bytes "$port") || now=-2
        if [[ $now == "$last" ]]; then
            stable=$((stable + 1))
            ((stable * 5 >= QUIET_SECONDS * 10)) && return 0
        else
            stable=0
            last=$now
        fi
        sleep 0.2
    done
    return 1
}

# Sum of every series of METRIC in the Prometheus text at URL.
metric_sum() {
    curl -sf --max-time 5 "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $NF} END {printf "%.0f\n", s}'
}

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
vm_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# start_sink DIR CPUS: the null sink on 127.0.0.1:0 under taskset (none when CPUS is empty); sets
# sink_pid, sink_port.
start_sink() {
    local dir=$1 cpus=$2
    pin_bg "$cpus" "$NULL_SINK" -listen=127.0.0.1:0 >"$dir/sink.out" 2>&1 &
    sink_pid=$!
    pids+=("$sink_pid")
    wait_for "$START_TIMEOUT" file_has "$dir/sink.out" '^listening' || {
        log "$dir: the null sink did not start"
        return 1
    }
    sink_port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$dir/sink.out")
}

# start_governor DIR CPUS FLAG...: metrics-governor on free loopback ports under taskset, its
# log in DIR/proxy.log; sets gov_pid, ingest_port, stats_port.
start_governor() {
    local dir=$1 cpus=$2
    shift 2
    pin_bg "$cpus" "$GOVERNOR" -http-listen=127.0.0.1:0 -grpc-listen= -stats-addr=127.0.0.1:0 "$@" >"$dir/proxy.log" 2>&1 &
    gov_pid=$!
    pids+=("$gov_pid")
    wait_for "$START_TIMEOUT" file_has "$dir/proxy.log" '"metrics-governor started"' || {
        log "$dir: metrics-governor did not start (see $dir/proxy.log)"
        return 1
    }
    ingest_port=$(log_port "$dir/proxy.log" "ingest listener started")
    stats_port=$(log_port "$dir/proxy.log" "stats listener started")
}
