#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Controller speed (issue 3 "Speed"), in a lab of its own:
#  (a) 50 swaps through the API: the daemon's switch_us (end of warm-up to
#      the routing element update returned; target < 1 ms), the swap's
#      response time, and, from outside, when a probe of new connections
#      from the client namespace first sees the new version;
#  (b) `slotlb status` (table and -o json), 10 runs each, with 1 app
#      (baseline) and then with 1,000 apps and 10,000 backends (target
#      < 100 ms).
#
#   tools/bench/controller/run.sh [SWAPS]     (root; default 50)
set -u
cd "$(dirname "$0")/../../.."
source tools/lab/lab.sh
source tools/lab/controller.sh

SWAPS=${1:-50}
APPS=1000 # in all, the lab's app included
BACKENDS=10000 # in all, the lab app's two included
BENCH=tools/bench/controller/ctlbench.py
P=cb$$
OUT=$(mktemp -d)

err()
{
	echo "Error: bench-controller: $*" >&2
	exit 1
}

ctl_trap_cleanup "$P"
trap 'ctl_cleanup_all; rm -rf "$OUT"' EXIT
[[ $SWAPS =~ ^[0-9]+$ && $SWAPS -ge 5 && $SWAPS -le 200 ]] ||
	err "SWAPS must be 5..200"
for b in "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"; do
	[ -x "$b" ] || [ -f "$b" ] || err "$b missing: run make first"
done
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || err "httpd 1"
lab_start_httpd "$P" 2 v2 || err "httpd 2"
ctl_start "$P" || err "slotlbd did not start"
ctl_attach_all "$P" 2 || err "attach"
sock=$(ctl_socket "$P")
{
	ctl_cli "$P" app create web --endpoint 198.18.100.1:80 &&
		ctl_cli "$P" slot create web --slot staging \
			--endpoint 198.18.100.2:80 &&
		ctl_cli "$P" deploy web --slot production \
			--backend 198.19.1.2:8080 --version v1 &&
		ctl_cli "$P" deploy web --slot staging \
			--backend 198.19.2.2:8080 --version v2
} >/dev/null || err "seed story setup"
got=$(lab_exec_client "$P" curl -s -m 2 http://198.18.100.1/)
[[ $got == "v1 "* ]] || err "production answers '$got', not v1"

echo "bench-controller: $(nproc) CPUs, kernel $(uname -r)"
echo "(a) $SWAPS swaps of web/staging <-> production under a probe"
probe_s=$(awk -v n="$SWAPS" 'BEGIN{print int(n * 0.6 + 10)}')
timeout $((probe_s + 10)) ip netns exec "$(lab_ns_client "$P")" \
	python3 "$BENCH" probe 198.18.100.1:80 "$probe_s" "$OUT/probe.json" &
probe_pid=$!
sleep 1
timeout 120 python3 "$BENCH" swaps "$sock" web staging "$SWAPS" \
	"$OUT/swaps.json" || err "swaps failed"
kill -INT "$probe_pid" 2>/dev/null
wait "$probe_pid"
[ -s "$OUT/probe.json" ] || {
	# the probe writes when its time is up; SIGINT cut it short
	err "probe wrote nothing"
}
python3 "$BENCH" report "$OUT/swaps.json" "$OUT/probe.json" ||
	swap_fail=1
grep -m3 'switch .* us after warm-up' "$(ctl_dir "$P")/slotlbd.log" |
	sed 's/^/    slotlbd: /'

# time_cmd N CMD...: "median min max" ms of N runs, timed by bash itself
# ($EPOCHREALTIME, no extra process) as a user at a shell sees them. The
# Python harness used before added 20-40 ms per run on this VM.
time_cmd()
{
	local n=$1 i t0 t1
	shift
	for ((i = 0; i < n; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null || err "$*: exit $?"
		t1=$EPOCHREALTIME
		echo "${t0/./} ${t1/./}"
	done | python3 -c '
import statistics, sys
ms = [(int(b) - int(a)) / 1e3 for a, b in (l.split() for l in sys.stdin)]
print(f"{statistics.median(ms):.1f} {min(ms):.1f} {max(ms):.1f}")'
}

echo
echo "(b) slotlb status, 10 runs each, ms: median min max"
st1=$(SLOTLB_SOCKET="$sock" time_cmd 10 "$CTL_CLI" status)
sj1=$(SLOTLB_SOCKET="$sock" time_cmd 10 "$CTL_CLI" -o json status)
api1=$(time_cmd 10 curl -sf --unix-socket "$sock" http://slotlb/v1/status)
t0=$SECONDS
timeout 150 python3 "$BENCH" populate "$sock" $((APPS - 1)) \
	$((BACKENDS - 2)) || err "populate failed"
echo "    (populating took $((SECONDS - t0)) s through the API)"
n_apps=$(ctl_cli "$P" -o json status | python3 -c \
	'import json,sys; d=json.load(sys.stdin); a=d["apps"]; print(len(a), sum(len(s["deployment"]["backends"]) for x in a for s in x["slots"] if s.get("deployment")))')
stN=$(SLOTLB_SOCKET="$sock" time_cmd 10 "$CTL_CLI" status)
sjN=$(SLOTLB_SOCKET="$sock" time_cmd 10 "$CTL_CLI" -o json status)
apiN=$(time_cmd 10 curl -sf --unix-socket "$sock" http://slotlb/v1/status)
lines=$(ctl_cli "$P" status | wc -l)
echo "    status reports: $n_apps (apps, backends in slots); table: $lines lines"
python3 - "$st1" "$sj1" "$api1" "$stN" "$sjN" "$apiN" <<'EOF'
import sys
s1, j1, a1, sn, jn, an = [list(map(float, a.split())) for a in sys.argv[1:]]
print("\n| command | 1 app: median (min-max) | 1,000 apps / 10,000 "
      "backends: median (min-max) | ratio | target < 100 ms |")
print("|---|---|---|---|---|")
for name, a, b in (("slotlb status", s1, sn),
                   ("slotlb -o json status", j1, jn),
                   ("curl GET /v1/status (the API alone)", a1, an)):
    print(f"| `{name}` | {a[0]:.1f} ({a[1]:.1f}-{a[2]:.1f}) ms | "
          f"{b[0]:.1f} ({b[1]:.1f}-{b[2]:.1f}) ms | {b[0] / a[0]:.1f}x | "
          f"{'met' if b[0] < 100 else 'MISSED'} |")
EOF
exit "${swap_fail:-0}"
