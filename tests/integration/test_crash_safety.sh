#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Crash safety of slotlbd (docs/slotlbd.md): the data path does not need
# the controller, and a kill -9 at any point leaves a database wholly
# before or wholly after the operation, which the next start reconciles
# the maps to.
#  (a) at rest: while the daemon is dead, new and keep-alive connections
#      and a stream begun before the kill go on; after a restart status,
#      routing element and served versions are the same.
#  (b) mid-swap, via SLOTLBD_CRASH_AT: after the routing update but before
#      the commit (must end wholly before), and after the commit (wholly
#      after); traffic flows throughout with no error.
#  (c) during a slow warm-up: wholly before, and the app is not left busy.
# Each case checks that status, `dpctl routing show` and the versions
# served to new connections on both slots agree.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=cs$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)
LOADCLIENT=$LAB_BUILD/tools/loadclient


T0=$(date +%s%N)

# elapsed: seconds since the start, for the timings in the output.
elapsed()
{
	echo "t=$((($(date +%s%N) - T0) / 1000000)) ms"
}




# slots: "production=ID:VERSION staging=ID:VERSION" from status.
slots()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join("%s=%s" % (s["name"], "%d:%s" % (s["deployment"]["id"],
    s["deployment"]["version"]) if s["deployment"] else "-")
    for s in app["slots"]))'
}

# slot_of SLOTS NAME: "ID:VERSION" of slot NAME in a line of slots.
slot_of()
{
	local w

	for w in $1; do
		[ "${w%%=*}" = "$2" ] && echo "${w#*=}"
	done
}

# snapshot: the whole status without the flow counters, which move with
# traffic.
snapshot()
{
	cli -o json status | python3 -c '
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "flows"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True))'
}


# versions VIP N: labels answered on N fresh connections, "v1:10" or
# "v1:4,v2:6", failures counted as "error".
versions()
{
	local vip=$1 n=$2 k

	for ((k = 0; k < n; k++)); do
		lab_exec_client "$P" curl -s --noproxy '*' -m 3 \
			"http://$vip/" | cut -d' ' -f1 | grep . || echo error
	done | sort | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 }'
}

# Entries a caller made (slotlbd's own, drained and retire, may come at
# any time as earlier deployments finish draining).
history_count()
{
	cli -o json history web | python3 -c '
import json, sys
print(len([e for e in json.load(sys.stdin)["history"]
           if e["trigger"] != "slotlbd"]))'
}

newest_history()
{
	cli -o json history web | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]
print(e["action"], e["outcome"])'
}

# outcome_unknown RC ERRFILE: the CLI lost the daemon mid-swap and says
# so (docs/cli.md), rather than claiming success or failure.
outcome_unknown()
{
	[ "$1" -eq 1 ] &&
		grep -q "^Error: swap: .*before the outcome.*history web" "$2"
}

# wait_gone PID: the daemon died (by itself or by us) within 10 s; reap.
wait_gone()
{
	local pid=$1 try

	for ((try = 0; try < 100; try++)); do
		if ! kill -0 "$pid" 2>/dev/null ||
			[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
			wait "$pid" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# load_start SECONDS VERSIONS: loadclient on production with a
# keep-alive connection and new connections, in the background.
load_start()
{
	LOAD_N=$((${LOAD_N:-0} + 1))
	lab_exec_client "$P" timeout $(($1 + 10)) "$LOADCLIENT" \
		--target "$PROD:80" --keepalive 1 --new-rate 20 --duration "$1" \
		--expect-versions "$2" --json "$STATE/load$LOAD_N.json" \
		>/dev/null 2>&1 &
	LOAD_PID=$!
}

# load_check CASE: wait for it; no failure of any kind.
load_check()
{
	local sum

	wait "$LOAD_PID"
	sum=$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print("ok=%d failed=%d connect_errors=%d resets=%d reconnects=%d versions=%s"
      % (j["requests_ok"], j["requests_failed"], j["connect_errors"],
         j["resets"], j["keepalive_reconnects"],
         ",".join("%s:%d" % kv for kv in sorted(j["versions"].items()))))' \
		"$STATE/load$LOAD_N.json" 2>/dev/null)
	echo "   load across $1: $sum"
	check "$1: load client without a single failure" \
		grep -Eq '^ok=[1-9][0-9]* failed=0 connect_errors=0 resets=0 reconnects=0 ' <<<"$sum"
}

# agree CASE: status, routing element and served versions tell the same.
agree()
{
	local c=$1 st prod stag got_prod got_stag

	st=$(slots)
	prod=$(slot_of "$st" production)
	prod=${prod#*:}
	stag=$(slot_of "$st" staging)
	stag=${stag#*:}
	check "$c: routing element equals status ($(routing_show | paste -sd,))" \
		[ "$(routing_show)" = "$(routing_expected)" ]
	got_prod=$(versions "$PROD" 5)
	got_stag=$(versions "$STAGING" 5)
	check "$c: production serves $prod to new connections ($got_prod)" \
		[ "$got_prod" = "$prod:5" ]
	check "$c: staging serves $stag to new connections ($got_stag)" \
		[ "$got_stag" = "$stag:5" ]
}

# classify BEFORE: "before", "after" (the two slots' deployments
# exchanged) or "neither", from status now.
classify()
{
	local b=$1 now p s

	now=$(slots)
	p=$(slot_of "$b" production)
	s=$(slot_of "$b" staging)
	if [ "$now" = "$b" ]; then
		echo before
	elif [ "$now" = "production=$s staging=$p" ]; then
		echo after
	else
		echo "neither ($now)"
	fi
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD" "$LOADCLIENT"
command -v python3 >/dev/null || die "python3 missing"
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 3 || die "attach"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create web --endpoint "$PROD:80" >/dev/null &&
	cli slot create web --slot staging --endpoint "$STAGING:80" \
		>/dev/null &&
	cli deploy web --slot production --backend "$(be 1)" --version v1 \
		>/dev/null &&
	cli deploy web --slot staging --backend "$(be 2)" --version v2 \
		>/dev/null || die "seed app"
agree "seed"

echo "# (a) kill -9 at rest ($(elapsed))"
bytes=$((4 * 1024 * 1024))
want_sha=$("$LAB_HTTPD" --gen-body $bytes | sha256sum | cut -d' ' -f1)
before=$(snapshot)
lab_exec_client "$P" timeout 20 curl -s --noproxy '*' \
	"http://$PROD/stream?bytes=$bytes&rate=$((512 * 1024))" |
	sha256sum | cut -d' ' -f1 >"$STATE/stream.sha" &
stream_pid=$!
load_start 4 v1
sleep 0.5
check "(a): the stream (4 MiB at 512 KiB/s) is under way at the kill" \
	kill -0 "$stream_pid"
pid=$(ctl_pid "$P")
ctl_stop "$P" KILL
check "(a): slotlbd (pid $pid) is dead" wait_gone "$pid"
check "(a): the API is gone with it" \
	bash -c "! SLOTLB_SOCKET=$(ctl_socket "$P") timeout 5 $CTL_CLI status >/dev/null 2>&1"
down=$(versions "$PROD" 10)
echo "   while down: production $down, staging $(versions "$STAGING" 3)"
check "(a): while down production serves v1 on 10 new connections" \
	[ "$down" = "v1:10" ]
# Under a loaded machine the stream may end before the restart; it has
# spanned the kill either way.
kill -0 "$stream_pid" 2>/dev/null && at_restart=yes || at_restart=no
echo "   stream still running at the restart: $at_restart"
ctl_start "$P" || die "(a): slotlbd did not restart"
check "(a): status after restart equals status before the kill" \
	[ "$(snapshot)" = "$before" ]
agree "(a)"
wait "$stream_pid"
check "(a): the stream across the kill has the right sha256" \
	[ "$(cat "$STATE/stream.sha")" = "$want_sha" ]
load_check "(a)"
echo "   (a) ended: before (nothing was under way)"

# crash_mid_swap POINT WANT: swap with the daemon set to die at POINT.
crash_mid_swap()
{
	local point=$1 want=$2 c="(b) $1" before hist rc pid down got

	echo "# $c ($(elapsed))"
	ctl_stop "$P" TERM || die "$c: slotlbd did not stop"
	SLOTLBD_CRASH_AT=$point ctl_start "$P" || die "$c: slotlbd did not start"
	pid=$(ctl_pid "$P")
	before=$(slots)
	hist=$(history_count)
	load_start 4 v1,v2
	sleep 0.3
	cli slot swap web --slot staging --warmup-timeout 1 >/dev/null \
		2>"$STATE/err"
	rc=$?
	echo "   swap: exit $rc: $(cat "$STATE/err")"
	check "$c: the swap exits 1, outcome unknown, see history" \
		outcome_unknown "$rc" "$STATE/err"
	check "$c: slotlbd killed itself" wait_gone "$pid"
	check "$c: at the crash point" \
		grep -q "crash point $point" "$(ctl_dir "$P")/slotlbd.log"
	down=$(versions "$PROD" 10)
	echo "   while down: production $down, staging $(versions "$STAGING" 3)"
	check "$c: while down 10 new connections answered (v1 or v2)" \
		grep -Eq '^(v1:10|v2:10|v1:[0-9]+,v2:[0-9]+)$' <<<"$down"
	ctl_start "$P" || die "$c: slotlbd did not restart"
	got=$(classify "$before")
	echo "   $c ended: $got ($before -> $(slots))"
	check "$c: state is wholly $want" [ "$got" = "$want" ]
	if [ "$want" = before ]; then
		check "$c: history has no entry of the lost swap" \
			[ "$(history_count)" = "$hist" ]
	else
		check "$c: history has the swap, ok" \
			[ "$(history_count) $(newest_history)" = "$((hist + 1)) swap ok" ]
	fi
	agree "$c"
	load_check "$c"
}

crash_mid_swap swap-before-commit before
crash_mid_swap swap-after-commit after

echo "# (c) kill -9 during a slow warm-up ($(elapsed))"
lab_start_httpd "$P" 3 v3 --cold-start 20 || die "httpd b3"
cli deploy web --slot staging --backend "$(be 3)" --version v3 >/dev/null ||
	die "deploy v3"
before=$(slots)
hist=$(history_count)
cli slot swap web --slot staging --warmup-status 200 --warmup-timeout 1 \
	--warmup-retries 30 >"$STATE/warm.out" 2>"$STATE/warm.err" &
swap_pid=$!
for ((try = 0; try < 50; try++)); do
	grep -q "attempt 2: failed" "$STATE/warm.out" && break
	sleep 0.1
done
check "(c): warm-up is retrying the cold backend" \
	grep -q "warm-up $(be 3) attempt 2: failed.*503" "$STATE/warm.out"
pid=$(ctl_pid "$P")
ctl_stop "$P" KILL
check "(c): slotlbd (pid $pid) is dead" wait_gone "$pid"
wait "$swap_pid"
rc=$?
echo "   swap: exit $rc: $(cat "$STATE/warm.err")"
check "(c): the swap exits 1, outcome unknown, see history" \
	outcome_unknown "$rc" "$STATE/warm.err"
prod=$(slot_of "$before" production)
prod=${prod#*:}
check "(c): production still serves $prod while down" \
	[ "$(versions "$PROD" 5)" = "$prod:5" ]
ctl_start "$P" || die "(c): slotlbd did not restart"
got=$(classify "$before")
echo "   (c) ended: $got ($before -> $(slots))"
check "(c): state is wholly before" [ "$got" = before ]
check "(c): history has no entry of the lost swap" \
	[ "$(history_count)" = "$hist" ]
agree "(c)"
cli slot swap web --slot staging --warmup-mode tcp --warmup-timeout 1 \
	>/dev/null 2>"$STATE/err"
check "(c): the app is not left busy: a TCP-gated swap goes through ($(cat "$STATE/err"))" \
	[ "$(classify "$before")" = after ]
agree "(c) swapped"

echo "# done ($(elapsed))"
if [ "$failures" -ne 0 ]; then
	echo "FAIL: crash_safety: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: crash_safety"
