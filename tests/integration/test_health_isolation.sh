#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# One slot's slow health probes must not stall another slot's checks.
# App web: production on b1 and b2, probed every 0.5 s (timeout 0.4 s,
# down after 2 failures). App slow: production on b3, whose server hangs
# (SIGSTOP), probed with a 20 s timeout (interval 20 s, as the rules
# allow). Then b2's server dies: it must leave web's ring within
# interval x unhealthy-after plus a timeout and some slack (4 s), not
# when slow's probe gives up 20 s later.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=hi$$

health_of()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
for s in app["slots"]:
    if s["name"] != "production" or not s["deployment"]:
        continue
    for b in s["deployment"]["backends"]:
        if b["address"] == sys.argv[1]:
            h = b["health"]
            print("- -" if h is None else "%s %s" % (h["state"],
                  "in" if h["in_ring"] else "out"))' "$1"
}

wait_health()
{
	local t0 now

	t0=$(now_ms)
	while :; do
		now=$(now_ms)
		if [ "$(health_of "$1")" = "$2" ]; then
			echo $((now - t0))
			return 0
		fi
		[ $((now - t0)) -gt "$3" ] && { echo $((now - t0)); return 1; }
		sleep 0.05
	done
}

# down_out_within ADDR TOOK MS: ADDR is down and out of web's ring, and
# it took at most MS to get there (both checked: a stall shorter than
# wait_health's bound must fail too).
down_out_within()
{
	[ "$(health_of "$1")" = "down out" ] && [ "$2" -le "$3" ]
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || die "httpd b$i"
done
ctl_start "$P" || die "slotlbd did not start"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create web --endpoint "$(lab_vip 1 4):80" >/dev/null &&
	cli app create slow --endpoint "$(lab_vip 2 4):80" >/dev/null &&
	cli deploy web --slot production --backend "$(be 1)" \
		--backend "$(be 2)" --version v1 >/dev/null &&
	cli deploy slow --slot production --backend "$(be 3)" \
		--version s1 >/dev/null || die "seed apps"
need "web's health policy" cli slot health web --slot production --path / \
	--interval 0.5 --timeout 0.4 --unhealthy-after 2 --healthy-after 2 \
	>/dev/null
for i in 1 2; do
	wait_health "$(be $i)" "up in" 5000 >/dev/null
	need "b$i probed and up" [ "$(health_of "$(be $i)")" = "up in" ]
done
pid3=$(cat "$(lab_state_dir "$P")/httpd-b3.pid")
kill -STOP "$pid3"
need "slow's health policy (20 s timeout)" cli slot health slow \
	--slot production --path / --interval 20 --timeout 20 >/dev/null
sleep 1 # slow's first probe is under way, on b3 that never answers
lab_stop_httpd "$P" 2
took=$(wait_health "$(be 2)" "down out" 30000)
echo "   b2 left web's ring after $took ms"
check "b2 down and out of web's ring within 4 s (took $took ms)" \
	down_out_within "$(be 2)" "$took" 4000
kill -CONT "$pid3"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: health_isolation: $failures checks failed"
	exit 1
fi
echo "PASS: health_isolation"
