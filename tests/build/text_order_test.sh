#!/usr/bin/env bash
# tests/build/text_order_test.sh BINARY ORDER_FILE [ARCHIVE...]: the link applied the hot-text order
# (CMakeLists.txt, MG_TEXT_ORDER): the functions ORDER_FILE names that BINARY has lie in BINARY
# in the file's order. Without the order (another linker, the option dropped, the daemon's target
# not given mg_text_order) they lie in object-file order and this fails, saying how many are out
# of place. Names the binary does not have (stale, or inlined in this build) are skipped; a name
# at an address already seen (an alias, e.g. a constructor's C1 and C2) is too. A few may be out of
# place: functions of objects built without a section per function (libgcc's CPU feature probe)
# cannot be moved; up to 1% pass, and are named. The order not applied puts about half out.
# The functions of the ARCHIVEs (the static libraries the daemon links, built without a section per
# function: their objects move whole, in the order of their first listed function) are not checked.
set -euo pipefail
binary=$1 order=$2
shift 2
[[ -r $binary && -r $order ]] || { echo "text_order_test: cannot read $binary or $order" >&2; exit 1; }
archived=$(mktemp)
trap 'rm -f "$archived"' EXIT
if (($#)); then nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 { print $3 }' >"$archived"; fi

nm --defined-only "$binary" | awk -v order="$order" -v archived="$archived" '
    NF == 3 && $2 ~ /^[tTwW]$/ && !($3 in addr) { addr[$3] = $1 }
    END {
        while ((getline name < archived) > 0) skip[name] = 1
        while ((getline name < order) > 0) {
            if (name ~ /^#/ || name == "" || !(name in addr) || (name in skip)) continue
            a = addr[name] ""  # compared as strings: nm gives fixed-width hex
            if (a in seen) continue
            seen[a] = 1
            present++
            if (present > 1 && a < prev) {
                out++
                if (out <= 5) printf "out of order: %s at 0x%s, after 0x%s\n", name, a, prev
            }
            if (present == 1 || a < lo) lo = a
            if (a > hi) hi = a
            prev = a
        }
        if (present < 100) {
            printf "text_order_test: only %d of the listed functions are in the binary\n", present
            exit 1
        }
        if (out * 100 > present) {
            printf "text_order_test: %d of %d listed functions are out of the file order: the link did not apply it\n", out, present
            exit 1
        }
        printf "text_order_test: %d listed functions, %d out of place, between 0x%s and 0x%s\n", present, out, lo, hi
    }'
