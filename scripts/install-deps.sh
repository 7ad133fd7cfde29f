#!/usr/bin/env bash
# Installs the Debian 12 packages metrics-governor needs to build and test. Idempotent: when
# everything is present it only checks and exits. Needs root or sudo when something is missing.
#
# Usage: scripts/install-deps.sh [--e2e] [--fuzz] [--format]
#   --e2e   also install the real peers the end-to-end tests and benchmarks run against
#           (Debian's prometheus, victoria-metrics, redis-server, redis-tools and haproxy),
#           Debian's chromium for the /ui browser test (tests/ui, driven by puppeteer-core), and
#           Debian's nodejs and npm for the OpenTelemetry JS SDK sender (tests/otel) unless a
#           `node` is already on PATH.
#   --fuzz  also install clang with libFuzzer and the sanitizer runtimes, and llvm-symbolizer
#           (scripts/run-fuzz.sh).
#   --format  also install clang-format (scripts/check-format.sh).
set -euo pipefail

build_pkgs=(
  build-essential cmake make pkg-config ccache git ca-certificates
  libboost1.81-dev prometheus-cpp-dev zlib1g-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libcli11-dev catch2 libsnappy-dev libxxhash-dev libbenchmark-dev libssl-dev
  libhiredis-dev  # cluster mode: the Redis client (src/cluster)
  libgrpc++-dev  # OTLP/gRPC: receiver, exporter, load generator (generic API, no protoc)
  lld  # the linker of the hot-text layout (CMakeLists.txt, MG_TEXT_ORDER)
  curl
  openssl  # the command line: tests/integration/access_test.cpp makes its certificates with it
)
# The real peers; jq and iproute2 (ss) for the benchmark scripts that run against them
# (bench/compare.sh, bench/soak.sh). redis-server: cluster mode's shared state, started by the
# tests on free ports; redis-tools: redis-cli, which joins the tests' Redis Cluster nodes.
# chromium: the browser the /ui test drives headless (tests/ui; puppeteer-core downloads none).
e2e_pkgs=(prometheus victoria-metrics jq iproute2 redis-server redis-tools haproxy chromium)
fuzz_pkgs=(clang libclang-rt-14-dev llvm-14)
format_pkgs=(clang-format)  # scripts/check-format.sh

want=("${build_pkgs[@]}")
for arg in "$@"; do
  case "$arg" in
    --e2e)
      want+=("${e2e_pkgs[@]}")
      # nodejs and npm (tests/otel: the OpenTelemetry JS SDK; Debian 12's node 18.19 is new
      # enough) only when no node is on PATH: a node from elsewhere (NodeSource's nodejs
      # package, nvm, a tarball) brings its own npm, and Debian's nodejs/npm would conflict
      # with it or shadow it.
      if ! command -v node >/dev/null 2>&1; then
        want+=(nodejs npm)
      elif ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: node is on PATH ($(command -v node)) but npm is not; install the" \
          "npm that belongs to that node (the tests/otel end-to-end test needs it)" >&2
      fi
      ;;
    --fuzz) want+=("${fuzz_pkgs[@]}") ;;
    --format) want+=("${format_pkgs[@]}") ;;
    *) echo "install-deps: unknown argument '$arg'; accepted: --e2e, --fuzz, --format" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root or install sudo, then run this script again" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# Debian's server packages start their service on install where an init system runs; the tests
# start their own instances on free ports, so keep the packaged services from being started.
policy_rc=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy_rc" >/dev/null
  "${sudo[@]}" chmod 755 "$policy_rc"
  added_policy=1
fi
trap '[ "$added_policy" = 1 ] && "${sudo[@]}" rm -f "$policy_rc"' EXIT
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
