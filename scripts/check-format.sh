#!/usr/bin/env bash
# Checks (default) or applies (--fix) the project's C++ formatting: Debian's clang-format with the
# repository's .clang-format, on every tracked .h/.cpp under src, cmd, tests and bench. The check
# fails naming each file that clang-format would change, with the first differences.
#   scripts/check-format.sh          check (CI: .ci/run)
#   scripts/check-format.sh --fix    rewrite the files in place (make format)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=check
case "${1:-}" in
  "") ;;
  --fix) mode=fix ;;
  *) echo "check-format: unknown argument '$1'; accepted: --fix" >&2; exit 2 ;;
esac
bash scripts/install-deps.sh --format >/dev/null
mapfile -t files < <(git ls-files 'src/*.h' 'src/*.cpp' 'cmd/*.h' 'cmd/*.cpp' 'tests/*.h' 'tests/*.cpp' 'bench/*.h' 'bench/*.cpp')
if [ "$mode" = fix ]; then
  clang-format -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! diff -q <(clang-format "$f") "$f" >/dev/null; then
    echo "check-format: $f is not formatted (scripts/check-format.sh --fix, or make format):" >&2
    diff -u "$f" <(clang-format "$f") | sed -n '3,12p' >&2 || true
    bad=$((bad + 1))
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "check-format: $bad of ${#files[@]} files need formatting" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
