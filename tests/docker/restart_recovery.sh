#!/usr/bin/env bash
# The spec's "Verify Restart Recovery", in the shipped image: build it, run it with a named volume,
# send series, wait for a save, remove the container, start a new one on the same volume and check
# that the cardinality and bloom_persistence_trackers_total carry on, that the daemon does not run
# as root and that the state files are 0600 (directories 0700).
# Needs a working `docker` (here: bash ../shared/tools/docker-bootstrap.sh). Host networking, ports
# from the OS (the daemon binds port 0 and logs what it got). Exit 0 on success, 1 on a failed check.
# Usage: tests/docker/restart_recovery.sh [IMAGE]   (IMAGE given: use it, do not build)
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${1:-metrics-governor:restart-test}
run_id="mg-rr-$$"
volume="$run_id-state"
metric="rr_requests"
series=50
failed=0

log() { echo "restart_recovery: $*" >&2; }
fail() { log "FAIL: $*"; failed=1; }
cleanup() {
  docker rm -f "$run_id-a" "$run_id-b" >/dev/null 2>&1 || true
  docker volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ $# -eq 0 ]; then
  log "building $image"
  docker build --network host -q -t "$image" . >/dev/null
fi
size=$(docker image inspect -f '{{.Size}}' "$image")
log "image size $((size / 1024 / 1024)) MiB"
[ "$size" -lt $((150 * 1024 * 1024)) ] || fail "image is $((size / 1024 / 1024)) MiB, over 150 MiB"
docker volume create "$volume" >/dev/null

# Starts a container on the volume; sets $stats and $ingest to the ports it logged.
start() {
  local name=$1
  docker run -d --name "$name" --network host -v "$volume:/data/bloom-state" "$image" \
    -stats-addr=127.0.0.1:0 -http-listen=127.0.0.1:0 -grpc-listen= -log-format=json \
    -bloom-persistence-enabled=true -bloom-persistence-path=/data/bloom-state \
    -bloom-persistence-save-interval=1s >/dev/null
  stats="" ingest=""
  for _ in $(seq 1 300); do
    local logs; logs=$(docker logs "$name" 2>&1)
    stats=$(sed -n 's/.*"stats listener started".*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' <<<"$logs")
    ingest=$(sed -n 's/.*"ingest listener started".*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' <<<"$logs")
    if [ -n "$stats" ] && [ -n "$ingest" ] && curl -fsS "http://127.0.0.1:$stats/ready" >/dev/null 2>&1; then return 0; fi
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.1  # polling the container's log: there is no event to wait on across docker
  done
  docker logs "$name" >&2 || true
  log "FAIL: $name did not become ready"
  exit 1
}

# One gauge point per series, OTLP/HTTP JSON (needs nothing but curl).
send_series() {
  local from=$1 to=$2 points="" now
  now=$(date +%s)000000000
  for ((i = from; i < to; i++)); do
    points+="${points:+,}{\"attributes\":[{\"key\":\"id\",\"value\":{\"stringValue\":\"$i\"}}],\"asDouble\":$i,\"timeUnixNano\":\"$now\"}"
  done
  curl -fsS -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$ingest/v1/metrics" \
    --data-binary "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"$metric\",\"gauge\":{\"dataPoints\":[$points]}}]}]}]}"
}

# Value of the first sample whose line starts with $1 on /metrics (empty when absent). awk reads
# to the end: an early exit would break curl's pipe, and pipefail would make that a failure.
metric_value() {
  curl -fsS "http://127.0.0.1:$stats/metrics" | awk -v p="$1" 'index($0, p) == 1 && !seen { print $NF; seen = 1 }'
}
cardinality() { metric_value "metrics_governor_metric_cardinality{metric_name=\"$metric\"}"; }
trackers() { metric_value "bloom_persistence_trackers_total"; }
saves() { metric_value 'bloom_persistence_saves_total{status="success"}'; }

start "$run_id-a"
log "first container: stats :$stats, ingest :$ingest"
send_series 0 "$series"
before_card=$(cardinality)
[ "${before_card%.*}" = "$series" ] || fail "cardinality after sending $series series is '$before_card'"
for _ in $(seq 1 100); do
  s=$(saves); [ -n "$s" ] && [ "${s%.*}" -ge 1 ] && break
  sleep 0.1  # the saver runs every second; its counter is the only signal
done
[ -n "${s:-}" ] && [ "${s%.*}" -ge 1 ] || fail "no successful save within 10s (saves_total{success}='${s:-}')"
before_trackers=$(trackers)
[ -n "$before_trackers" ] && [ "${before_trackers%.*}" -ge 1 ] || fail "trackers_total is '$before_trackers'"

# The image has no shell or tools (FROM scratch): look at the process from the host (no user
# namespaces here, so the uid is the container's) and at the volume from a throwaway container.
pid=$(docker inspect -f '{{.State.Pid}}' "$run_id-a")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
[ "$uid" != 0 ] || fail "the daemon runs as root"
[ "$uid" = 65532 ] || fail "the daemon runs as uid $uid, not 65532"
docker exec "$run_id-a" metrics-governor healthcheck "-stats-addr=127.0.0.1:$stats" >/dev/null \
  || fail "metrics-governor healthcheck failed against a running daemon"
modes=$(docker run --rm --network none -v "$volume:/state:ro" --entrypoint find debian:bookworm \
  /state -printf '%y %m %U %P\n')
log "state: $(wc -l <<<"$modes") entries"
grep -q ' meta.json$' <<<"$modes" || fail "no meta.json in the volume: $modes"
grep -q '\.bloom\.gz$' <<<"$modes" || fail "no .bloom.gz file in the volume: $modes"
bad=$(awk '($1 == "f" && $2 != "600") || ($1 == "d" && $2 != "700") || $3 != 65532' <<<"$modes")
[ -z "$bad" ] || fail "state entries not owned by 65532 with 0600 files / 0700 directories: $bad"

log "removing the first container (docker stop: SIGTERM, final save)"
docker stop -t 40 "$run_id-a" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$run_id-a")
[ "$code" = 0 ] || fail "the first container exited with $code after SIGTERM"
docker rm "$run_id-a" >/dev/null

start "$run_id-b"
log "second container: stats :$stats, ingest :$ingest"
# Nothing sent yet: whatever the trackers know now came from the volume.
after_card=$(cardinality)
after_trackers=$(trackers)
[ "$after_card" = "$before_card" ] || fail "cardinality after restart is '$after_card', before it was '$before_card'"
[ "$after_trackers" = "$before_trackers" ] || fail "trackers_total after restart is '$after_trackers', before '$before_trackers'"
restore_line=$(docker logs "$run_id-b" 2>&1 | grep 'bloom state restore complete' || true)
grep -q '"loaded":[1-9]' <<<"$restore_line" || fail "the second container restored nothing: '$restore_line'"
# The known series are known; only new ones count.
send_series 0 "$((series + 10))"
grown=$(cardinality)
[ "${grown%.*}" = "$((series + 10))" ] || fail "after resending $series known and 10 new series cardinality is '$grown'"

if [ "$failed" -ne 0 ]; then
  docker logs "$run_id-b" 2>&1 | tail -20 >&2 || true
  log "FAILED"
  exit 1
fi
log "ok: cardinality $before_card and $before_trackers tracker(s) carried over a new container; uid $uid; files 0600"
