#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (measures time: a cancel ends a swap within 1 s)
#
# Cancel of a running warm-up. The staging backend accepts connections
# and never answers, so a warm-up with a 30 s timeout would hang for 30 s:
#
# - `slot swap --action cancel` 2 s in: the cancel returns within 1 s,
#   the swap's CLI ends within 1 s of it with exit 1, nothing changed,
#   and the history says cancelled;
# - a CLI killed by SIGINT (no terminal: it cancels without asking)
#   cancels its swap;
# - a client of the plain (not streamed) API that goes away cancels its
#   swap;
# - a preview cancelled leaves nothing pending;
# - cancel with nothing running is refused.
#
# Backends: b1 v1 (production), b2 silent (staging).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=cn$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)
SLOW='--warmup-timeout 30 --warmup-retries 0'

# state_now: what a cancelled operation must leave as it was.
state_now()
{
	cli -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
print([(s["name"], s["deployment"] and s["deployment"]["id"]) for s in a["slots"]], a["pending_swap"])'
	routing_show
}

# newest FIELD...: fields of the newest history entry.
newest()
{
	cli -o json history web | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]
print(" ".join(str(e[f]) for f in sys.argv[1:]))' "$@"
}

# wait_busy: until the app is busy (a warm-up started), at most 10 s.
wait_busy()
{
	local try

	for ((try = 0; try < 100; try++)); do
		ctl_api "$P" GET /v1/status?app=web |
			grep -q '"busy":"[a-z]* in progress"' && return 0
		sleep 0.1
	done
	return 1
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
need_tools python3 curl
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
# accepts, reads nothing, answers nothing
lab_exec_backend "$P" 2 python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])' </dev/null >/dev/null 2>&1 &
for ((i = 0; i < 100; i++)); do
	lab_accepts "$P" 2 && break
	sleep 0.1
done
lab_accepts "$P" 2 || die "silent server b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint "$PROD:80" &&
		cli slot create web --slot staging --endpoint "$STAGING:80" &&
		cli deploy web --slot production --backend "$(be 1)" --version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" --version v2
} >/dev/null || die "seed app"
before=$(state_now)

echo "# --action cancel 2 s into a 30 s warm-up"
t0=$(now_ms)
# shellcheck disable=SC2086
cli slot swap web --slot staging $SLOW >"$STATE/out1" 2>&1 </dev/null &
swap=$!
need "the swap is warming up" wait_busy
sleep 2
t1=$(now_ms)
cli slot swap web --action cancel >"$STATE/cancel1" 2>&1
rc=$?
t2=$(now_ms)
wait "$swap"
swap_rc=$?
t3=$(now_ms)
echo "   cancel asked at $((t1 - t0)) ms, answered in $((t2 - t1)) ms," \
	"swap CLI ended $((t3 - t1)) ms after the ask"
sed 's/^/   /' "$STATE/cancel1" "$STATE/out1"
check "cancel exits 0" [ "$rc" -eq 0 ]
check "cancel answers within 1 s" [ $((t2 - t1)) -lt 1000 ]
check "the swap's CLI ends within 1 s of the cancel" [ $((t3 - t1)) -lt 1000 ]
check "the swap's CLI exits 1" [ "$swap_rc" -eq 1 ]
check "the swap's CLI says cancelled" grep -q "^Error: .*cancelled" "$STATE/out1"
check "nothing changed" [ "$(state_now)" = "$before" ]
check "history: swap cancelled" [ "$(newest action outcome)" = "swap cancelled" ]
check "production still serves v1" \
	grep -q '^v1 ' <<<"$(lab_exec_client "$P" curl -s -m 3 "http://$PROD/")"

echo "# SIGINT to the CLI (no terminal: it cancels)"
t0=$(now_ms)
# shellcheck disable=SC2086
SLOTLB_SOCKET=$(ctl_socket "$P") "$CTL_CLI" slot swap web --slot staging \
	$SLOW >"$STATE/out2" 2>&1 </dev/null &
swap=$!
need "the swap is warming up" wait_busy
sleep 2
t1=$(now_ms)
kill -INT "$swap"
wait "$swap"
swap_rc=$?
t2=$(now_ms)
echo "   SIGINT at $((t1 - t0)) ms, the CLI ended $((t2 - t1)) ms later"
sed 's/^/   /' "$STATE/out2"
check "the CLI exits 1" [ "$swap_rc" -eq 1 ]
check "the CLI said it cancels" grep -q "cancelling the swap of web" "$STATE/out2"
# libcurl looks at the interrupt at least once a second
check "it ended within 3 s" [ $((t2 - t1)) -lt 3000 ]
check "nothing changed" [ "$(state_now)" = "$before" ]
check "history: swap cancelled" [ "$(newest action outcome)" = "swap cancelled" ]

echo "# a client of the plain API that goes away"
t0=$(now_ms)
curl -s -m 2 --unix-socket "$(ctl_socket "$P")" -X POST \
	-d '{"slot": "staging", "warmup": {"timeout_s": 30, "retries": 0}}' \
	http://slotlb/v1/apps/web/swap >/dev/null
t1=$(now_ms)
# Polled with curl alone: a CLI and python per poll cost hundreds of ms
# on a loaded machine, which the measurement would add to slotlbd's time.
for ((i = 0; i < 100; i++)); do
	curl -s -m 1 --unix-socket "$(ctl_socket "$P")" \
		"http://slotlb/v1/apps/web/history?limit=1" |
		grep -Eq '"outcome": ?"cancelled"' && break
	sleep 0.05
done
t2=$(now_ms)
echo "   curl gave up after $((t1 - t0)) ms; cancelled $((t2 - t1)) ms later"
check "history: swap cancelled (client disconnected)" \
	grep -q "^swap cancelled .*client disconnected" <<<"$(newest action outcome detail)"
check "cancelled within 1 s of the disconnect" [ $((t2 - t1)) -lt 1000 ]
check "nothing changed" [ "$(state_now)" = "$before" ]

echo "# a preview cancelled leaves nothing pending"
# shellcheck disable=SC2086
cli slot swap web --slot staging --action preview $SLOW >"$STATE/out3" 2>&1 \
	</dev/null &
swap=$!
need "the preview is warming up" wait_busy
check "cancel exits 0" cli slot swap web --action cancel
wait "$swap"
check "the preview's CLI exits 1" [ $? -eq 1 ]
check "nothing pending, nothing changed" [ "$(state_now)" = "$before" ]
check "history: preview cancelled" [ "$(newest action outcome)" = "preview cancelled" ]

echo "# nothing to cancel"
out=$(cli slot swap web --action cancel 2>&1)
rc=$?
echo "   $out"
check "cancel with nothing running exits 1" [ "$rc" -eq 1 ]
check "... saying so" grep -q "web: nothing to cancel" <<<"$out"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: cancel: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: cancel"
