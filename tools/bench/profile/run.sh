#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Where one bench_xdp path spends its time, by symbol and by source line
# of the slotlb program (docs/PERFORMANCE.md, "Profiling a path"):
#
#   tools/bench/profile/run.sh PATH [bench_xdp options]
#
# PATH is one of bench_xdp's -p names (new, hot, est, reply, notep,
# chance, split, dsr-new, dsr-hot, dsr-est). perf samples CPU 1, where
# bench_xdp runs, at FREQ Hz (default 20000) and only while slotlb's
# timed loops run: bench_xdp turns sampling on and off through perf's
# control FIFO (bench_profile.c). The guest's cpu-clock event is used
# (no PMU here), so a sample says where the time went, not why. The
# samples and the line table are kept in OUT (default a new directory
# under /tmp) for a second look with report.py. Needs root, a build
# (make all) and perf (tools/deps.sh bench installs linux-perf).
set -euo pipefail

usage() {
	echo "usage: tools/bench/profile/run.sh PATH [bench_xdp options]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
path=$1
shift
case $path in
new | hot | est | reply | notep | chance | split | dsr-new | dsr-hot | dsr-est) ;;
*)
	echo "Error: profile: path '$path': want one of new hot est reply notep chance split dsr-new dsr-hot dsr-est" >&2
	exit 2
	;;
esac
top=$(cd "$(dirname "$0")/../../.." && pwd)
bench=$top/build/tools/bench/bench_xdp
[ -x "$bench" ] || {
	echo "Error: profile: $bench not built (make all)" >&2
	exit 1
}
command -v perf >/dev/null || {
	echo "Error: profile: perf not found (tools/deps.sh bench installs linux-perf)" >&2
	exit 1
}
out=${OUT:-$(mktemp -d /tmp/slotlb-profile.XXXXXX)}
mkdir -p "$out"
rm -f "$out/ctl" "$out/ack"
mkfifo "$out/ctl" "$out/ack"
trap 'rm -f "$out/ctl" "$out/ack"' EXIT
exec {ctl}<>"$out/ctl" {ack}<>"$out/ack"

# bench_xdp pins itself to CPU 1; perf records that CPU, and only while
# told to (-D -1: start disabled).
BENCH_PERF_CTL=$ctl,$ack BENCH_LINES=$out/lines \
	timeout 600 perf record -q -F "${FREQ:-20000}" -C 1 -D -1 \
	--control "fd:$ctl,$ack" -o "$out/perf.data" -- \
	"$bench" -p "$path" "$@" >"$out/bench.out" 2>&1 || {
	echo "Error: profile: bench_xdp or perf failed:" >&2
	tail -5 "$out/bench.out" >&2
	exit 1
}
exec {ctl}>&- {ack}>&-
[ -s "$out/lines" ] || {
	echo "Error: profile: bench_xdp wrote no line table (built before bench_profile.c?)" >&2
	exit 1
}
perf script -i "$out/perf.data" -F ip,sym >"$out/samples" 2>/dev/null
grep -A2 '^path' "$out/bench.out" | head -3
python3 "$top/tools/bench/profile/report.py" "$out/lines" "$out/samples"
echo "(kept in $out: bench.out, perf.data, samples, lines)"
