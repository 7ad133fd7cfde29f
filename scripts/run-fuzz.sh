#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) in build/fuzz and runs each for
# a bounded time on a copy of its committed corpus and regression inputs. Exits non-zero when any
# target finds something (crash, broken property, timeout, out-of-memory, leak), naming the target
# and the reproducer. The repository is never written to: new corpus entries go to a temp dir,
# reproducers to build/fuzz/artifacts/<target>/. docs/testing.md, "Fuzzing".
#
# Environment:
#   FUZZ_SECONDS  time per target (default 30)
#   FUZZ_TARGETS  space-separated subset of targets (default: all of tests/fuzz/CMakeLists.txt)
#   JOBS          build parallelism, and targets run at once (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-30}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
build=build/fuzz
start=$(date +%s)

all_targets=$(sed -n '/^set(MG_FUZZ_TARGETS/,/)/p' tests/fuzz/CMakeLists.txt |
              sed 's/set(MG_FUZZ_TARGETS//; s/)//' | tr -s ' \n' ' ')
targets=${FUZZ_TARGETS:-$all_targets}
for t in $targets; do
  case " $all_targets " in
    *" $t "*) ;;
    *) echo "run-fuzz: unknown target '$t'; targets: $all_targets" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh --fuzz

# A tree configured with another compiler cannot be switched to clang in place.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
gen=()  # an existing tree keeps its generator
[ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
# -O1 without NDEBUG: fast enough, and the asserts stay on; line tables are enough for
# symbolized stacks and much cheaper to build than full debug info.
CC=clang CXX=clang++ cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DMG_FUZZ=ON -DMG_WERROR=ON \
  -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=OFF -DMG_BUILD_INTEGRATION_TESTS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target mg_fuzz
echo "run-fuzz: built in $(( $(date +%s) - start ))s; ${seconds}s per target"

work=$(mktemp -d "${TMPDIR:-/tmp}/mg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: its corpus copy, its run, its verdict in $work/$t/verdict (0 or libFuzzer's exit).
run_target() {
  local t=$1
  local corpus="$work/$t/corpus"
  local artifacts="$root/$build/artifacts/$t"
  local log="$root/$build/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name README.md -exec cp {} "$corpus/" \;
  done
  local args=("$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
              -artifact_prefix="$artifacts/" -print_final_stats=1)
  [ -f "tests/fuzz/dict/$t.dict" ] && args+=(-dict="tests/fuzz/dict/$t.dict")
  local rc=0
  # The outer bound catches a target that never returns to libFuzzer's own clock.
  timeout --kill-after=10 $(( seconds + 60 )) "$build/tests/fuzz/fuzz_$t" "${args[@]}" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t/verdict"
}

# The targets run $jobs at a time (each is one single-threaded process): the same seconds per
# target, in a fraction of the wall time. Verdicts are reported in target order afterwards.
running=0
for t in $targets; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

failed=()
for t in $targets; do
  log="$root/$build/logs/$t.log"
  rc=$(cat "$work/$t/verdict" 2>/dev/null || echo "no verdict")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
  if [ "$rc" != 0 ]; then
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" 2>/dev/null | tail -1)
    echo "run-fuzz: $t FAILED (exit $rc); reproducer: ${repro:-none written}; log: $log"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|property broken' "$log" || tail -20 "$log"
    failed+=("$t")
  else
    echo "run-fuzz: $t ok (${execs:-?} inputs)"
  fi
done

echo "run-fuzz: done in $(( $(date +%s) - start ))s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "run-fuzz: findings in: ${failed[*]}" >&2
  echo "run-fuzz: replay one with $build/tests/fuzz/fuzz_<target> <reproducer>; once fixed, copy it to" \
       "tests/fuzz/regressions/<target>/ (docs/testing.md)" >&2
  exit 1
fi
