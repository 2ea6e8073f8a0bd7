#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Drain timeout (issue 9, drain control). Production's drain policy is
# "reset after 8 s" (room for two deploys on a loaded machine): v1 serves an idle keep-alive connection, v2 and v3
# are deployed (v1 drains, nobody's previous deployment). Before the
# deadline the connection still answers from v1; after it, the client's
# next request on it is answered with a RST by the data path (the
# client sees ECONNRESET), the reset is counted (tx_drain_reset), v1
# retires and the history says why (drain-timeout, drained, retire).
# Then the policy is "leave": the same story keeps the connection
# working on v1 past the deadline, and v1 keeps draining.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=dt$$
VIP=$(lab_vip 1 4)
OUT=$(mktemp -d /tmp/slotlb-dt.XXXXXX)
TIMEOUT_S=8

# One keep-alive connection driven by files: CTL/req.N sends request N
# on the same socket and prints "N LOCAL_PORT BODY" or "N error KIND".
KEEPALIVE_PY='
import http.client, os, sys, time
host, ctl = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection(host, 80, timeout=5)
n, deadline = 0, time.time() + 60
while time.time() < deadline:
    if os.path.exists("%s/req.%d" % (ctl, n)):
        try:
            c.request("GET", "/ka/%d" % n)
            body = c.getresponse().read().decode().strip()
            print(n, c.sock.getsockname()[1], body, flush=True)
        except Exception as e:
            print(n, "error", type(e).__name__, flush=True)
            break
        n += 1
    else:
        time.sleep(0.02)
'

# ka DIR N: request N on DIR's connection; print its line (10 s bound).
ka()
{
	local i line

	touch "$1/req.$2"
	for ((i = 0; i < 200; i++)); do
		line=$(grep -m1 "^$2 " "$1/out")
		if [ -n "$line" ]; then
			echo "$line"
			return 0
		fi
		sleep 0.05
	done
	echo "$2 no answer in 10 s"
}

# draining: web's draining deployments as VERSION:FLOWS.
draining()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join(sorted("%s:%d" % (d["version"], d["flows"])
                      for d in app["draining"])))'
}

# v1_deadline_fixed: yes if status shows v1 draining with a deadline.
# Right after the deploy that pushed v1 out, before the drain loop's
# next tick (every 200 ms) can have fixed it: the deploy must have.
v1_deadline_fixed()
{
	cli -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
print("yes" if any(d["version"] == "v1" and d["drain"]["deadline"]
                   for d in a["draining"]) else "no")'
}

# expect_fail CMD...: CMD exits non-zero (its error on stderr).
expect_fail()
{
	! "$@" >/dev/null 2>"$OUT/err" && grep -q "^Error: " "$OUT/err"
}

# resets: the data path's tx_drain_reset packets.
resets()
{
	ctl_api "$P" GET /metrics |
		awk '/^slotlb_packets_total\{.*reason="tx_drain_reset"/ {
			print $2; f = 1 } END { if (!f) print 0 }'
}

# story DIR: v1 with a keep-alive connection from DIR, then v2 and v3;
# the connection's local port in PORT, the drain's start in DRAIN_T0.
story()
{
	local first v

	mkdir -p "$1"
	need "deploy v1" cli deploy web --slot production --backend "$(be 1)" \
		--version v1 >/dev/null
	lab_exec_client "$P" timeout 60 python3 -c "$KEEPALIVE_PY" "$VIP" \
		"$1" >"$1/out" 2>&1 &
	first=$(ka "$1" 0)
	[ "$(cut -d' ' -f3- <<<"$first")" = "v1 $(be 1)" ] ||
		die "keep-alive connection not answered by v1: $first"
	for v in 2 3; do
		need "deploy v$v" cli deploy web --slot production \
			--backend "$(be $v)" --version "v$v" >/dev/null
		[ "$v" = 2 ] && DRAIN_FIXED=$(v1_deadline_fixed)
	done
	DRAIN_T0=$(now_ms)
	PORT=$(cut -d' ' -f2 <<<"$first")
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3
ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || exit 1
done
ctl_start "$P" --drain-interval 200 || exit 1
ctl_attach_all "$P" 3 || die "attach failed"
need "app create web" cli app create web --endpoint "$VIP:80" >/dev/null

# Bad input: nothing stored.
check "a reset rate of 0 is refused" \
	expect_fail cli slot config web --slot production --reset-rate 0
check "an unknown on-drain-timeout is refused" \
	expect_fail cli slot config web --slot production \
	--on-drain-timeout kill
check "reset without a timeout is refused by the daemon" \
	expect_fail cli slot config web --slot production \
	--on-drain-timeout reset
check "nothing was stored" [ "$(cli -o json slot config web \
	--slot production | python3 -c '
import json, sys; print(json.load(sys.stdin)["drain"]["stored"])')" = False ]

need "drain policy: reset after ${TIMEOUT_S} s" cli slot config web \
	--slot production --drain-timeout "${TIMEOUT_S}s" \
	--on-drain-timeout reset --reset-rate 50/s >/dev/null
r0=$(resets)
story "$OUT/reset"
port=$PORT
got=$(ka "$OUT/reset" 1)
check "before the deadline the connection answers from v1" \
	[ "$got" = "1 $port v1 $(be 1)" ]
st=$(draining)
check "v1 drains with its one flow" [ "${st%% *}" = "v1:1" ]
check "the deploy that pushed v1 out fixed its deadline at once" \
	[ "$DRAIN_FIXED" = yes ]
# (a drain the deploy did not fix gets one at the drain loop's next tick)
for ((i = 0; i < 50; i++)); do
	cli -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
sys.exit(0 if any(d["drain"]["deadline"] for d in a["draining"]) else 1)' &&
		break
	sleep 0.1
done
check "status: v1's drain ends by a reset ${TIMEOUT_S} s after it began" \
	python3 -c '
import json, sys, datetime
app = json.loads(sys.argv[1])["apps"][0]
d = [d for d in app["draining"] if d["version"] == "v1"][0]["drain"]
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
gap = (t(d["deadline"]) - t(d["since"])).total_seconds()
assert d["on_timeout"] == "reset" and abs(gap - int(sys.argv[2])) <= 1, d' \
	"$(cli -o json status web)" "$TIMEOUT_S"
check "status table: v1 (draining), reset at its deadline, its flow" \
	grep -q "(draining) *reset at .*v1 *1 " <<<"$(cli status web)"
# past the deadline and a tick or two, and until slotlbd said it acts
# (its drain-timeout entry comes just before it sets the reset rate; on
# a loaded machine its tick can come seconds late)
while [ $(($(now_ms) - DRAIN_T0)) -lt $((TIMEOUT_S * 1000 + 800)) ]; do
	sleep 0.1
done
for ((i = 0; i < 100; i++)); do
	ctl_api "$P" GET '/v1/apps/web/history?limit=5' 2>/dev/null |
		grep -q '"drain-timeout"' && break
	sleep 0.1
done
sleep 0.2
got=$(ka "$OUT/reset" 2)
echo "   after the deadline: '$got'"
check "after the deadline the client's next request is reset" \
	[ "$got" = "2 error ConnectionResetError" ]
r1=$(resets)
check "the reset is counted (tx_drain_reset $r0 -> $r1)" [ "$r1" -gt "$r0" ]
t1=$(now_ms)
while st=$(draining) && [ "${st%% *}" = "v1:1" ] &&
	[ $(($(now_ms) - t1)) -lt 5000 ]; do
	sleep 0.1
done
check "v1 retires once its flow was reset (draining: '$st')" \
	[ "$st" = "v2:0" ]
hist=$(cli history web)
check "history: the drain timeout" grep -q "drain-timeout.*v1" <<<"$hist"
check "history: v1 drained and retired" \
	grep -q "drained.*(v1): no flows left" <<<"$hist"
check "new connections are served by v3" [ "$(lab_exec_client "$P" curl -s \
	--noproxy '*' -m 3 "http://$VIP/")" = "v3 $(be 3)" ]

need "drain policy: leave" cli slot config web --slot production \
	--on-drain-timeout leave >/dev/null
story "$OUT/leave"
port=$PORT
while [ $(($(now_ms) - DRAIN_T0)) -lt $((TIMEOUT_S * 1000 + 800)) ]; do
	sleep 0.1
done
got=$(ka "$OUT/leave" 1)
check "leave: past the deadline the connection still answers from v1" \
	[ "$got" = "1 $port v1 $(be 1)" ]
st=$(draining)
check "leave: v1 still drains with its flow ('$st')" \
	[ "${st%% *}" = "v1:1" ]
check "leave: no reset sent" [ "$(resets)" = "$r1" ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: drain timeout: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: drain timeout"
