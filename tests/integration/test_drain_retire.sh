#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Drain retirement: a draining deployment retires only once no flow is
# pinned to it. v1 (backend 1) serves one keep-alive connection; then v2
# and v3 are deployed into production, so v1 drains and is nobody's
# previous deployment (only that lets it retire). For 3 s, well past the
# 1 s drain margin and across many drain ticks, the connection keeps
# working on the same socket, answered by v1, and status keeps v1
# draining with that one flow. Once the client closes it, v1 retires
# (status drops it, the daemon logs it) while v2, production's previous
# deployment, stays.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=dr$$
VIP=$(lab_vip 1 4)
DRAIN_INTERVAL_MS=200
OUT=$(mktemp -d /tmp/slotlb-dr.XXXXXX)

# One keep-alive connection driven by files in CTL: CTL/req.N makes it
# send request N on the same socket and print "N LOCAL_PORT BODY" (or
# "N error ..."); CTL/close makes it close the socket and print "closed".
KEEPALIVE_PY='
import http.client, os, sys, time
host, ctl = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection(host, 80, timeout=5)
n, deadline = 0, time.time() + 120
while time.time() < deadline:
    if os.path.exists("%s/req.%d" % (ctl, n)):
        try:
            c.request("GET", "/ka/%d" % n)
            body = c.getresponse().read().decode().strip()
            print(n, c.sock.getsockname()[1], body, flush=True)
        except Exception as e:
            print(n, "error", type(e).__name__, e, flush=True)
            c.close()
        n += 1
    elif os.path.exists(ctl + "/close"):
        c.close()
        print("closed", flush=True)
        break
    else:
        time.sleep(0.02)
'

# ka N: have the connection send request N; print its line (10 s bound).
ka()
{
	local i line

	touch "$OUT/ctl/req.$1"
	for ((i = 0; i < 200; i++)); do
		line=$(grep -m1 "^$1 " "$OUT/ka.out")
		if [ -n "$line" ]; then
			echo "$line"
			return 0
		fi
		sleep 0.05
	done
	echo "$1 no answer in 10 s"
}

# draining: the draining deployments of web as VERSION:FLOWS.
draining()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join(sorted("%s:%d" % (d["version"], d["flows"])
                      for d in app["draining"])))'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3
ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
mkdir -p "$OUT/ctl"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || exit 1
done
ctl_start "$P" --drain-interval "$DRAIN_INTERVAL_MS" || exit 1
ctl_attach_all "$P" 3 || die "attach failed"
need "app create web" cli app create web --endpoint "$VIP:80" >/dev/null
need "deploy v1 into production" \
	cli deploy web --slot production --backend "$(be 1)" --version v1 \
	>/dev/null

lab_exec_client "$P" timeout 120 python3 -c "$KEEPALIVE_PY" "$VIP" \
	"$OUT/ctl" >"$OUT/ka.out" 2>&1 &
first=$(ka 0)
echo "   $first"
port=$(cut -d' ' -f2 <<<"$first")
need "keep-alive connection answered by v1" \
	[ "$(cut -d' ' -f3- <<<"$first")" = "v1 $(be 1)" ]

for v in 2 3; do
	need "deploy v$v into production" cli deploy web --slot production \
		--backend "$(be $v)" --version "v$v" >/dev/null
done
check "new connections go to v3" [ "$(lab_exec_client "$P" curl -s \
	--noproxy '*' -m 3 "http://$VIP/")" = "v3 $(be 3)" ]

# 3 s: the margin (1 s) and ~15 drain ticks go by with the flow pinned.
t0=$(now_ms)
bad_ka=0
bad_status=0
n=1
while [ $(($(now_ms) - t0)) -lt 3000 ] || [ $n -le 4 ]; do
	sleep 0.2
	got=$(ka $n)
	if [ "$got" != "$n $port v1 $(be 1)" ]; then
		echo "   request $n on the keep-alive connection: '$got'"
		bad_ka=$((bad_ka + 1))
	fi
	st=$(draining)
	if [ "$st" != "v1:1 v2:0" ]; then
		echo "   status after $(($(now_ms) - t0)) ms: draining '$st'"
		bad_status=$((bad_status + 1))
	fi
	n=$((n + 1))
done
echo "   $((n - 1)) requests over $(($(now_ms) - t0)) ms"
check "the keep-alive connection kept working on its socket ($port), answered by v1" \
	[ $bad_ka -eq 0 ]
check "all the while status shows v1 draining with its 1 flow (v2 with none)" \
	[ $bad_status -eq 0 ]

# A closed flow pins nothing: v1 goes within a few ticks, long before
# the closed flow's entry expires (10 s), which must not hold it back.
touch "$OUT/ctl/close"
t1=$(now_ms)
while st=$(draining) && [ "$st" != "v2:0" ] &&
	[ $(($(now_ms) - t1)) -lt 7000 ]; do
	sleep 0.1
done
took=$(($(now_ms) - t1))
echo "   draining '$st' $took ms after the close"
check "v1 retires within 7 s of its connection's close; v2 (production's previous) stays" \
	[ "$st" = "v2:0" ] && [ $took -lt 7000 ]
check "the daemon logs v1 drained and retired" \
	grep -q "(v1) drained and retired" "$(ctl_dir "$P")/slotlbd.log"
check "the keep-alive client closed cleanly" grep -qx closed "$OUT/ka.out"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: drain retirement: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: drain retirement"
