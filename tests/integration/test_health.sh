#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (measures time: a dead backend leaves the ring within interval x unhealthy-after)
#
# Health checks of live backends, in the real lab: production v1 on b1,
# b2, b3 with a health policy (probe every 0.5 s, down after 2 failures,
# up after 2 passes, pinned TCP flows reset).
#   1. b2's server is killed under load: within interval x unhealthy-after
#      (plus a probe's timeout) status shows it down and out of the ring;
#      after that, and a weight change of b1 that republishes the ring,
#      300 new connections all succeed (a third would reach b2 if it were
#      still in the ring); restarted, it comes back; status and history
#      show both transitions (down after exactly unhealthy-after probes).
#   2. b3's server hangs (SIGSTOP) while a client holds an idle keep-alive
#      connection pinned to it: once b3 is out, the client's next request
#      is answered by a TCP reset from the balancer within a second (the
#      documented treatment), where it would otherwise hang.
#   3. The last backend is never removed: with b1 and b2 killed too, the
#      last one down stays in the ring (fail open), status and history
#      say so, and no ring health asked for was refused.
#   4. Bad input: interval 0 or below the timeout, thresholds 0, an
#      unknown TCP treatment: exit 2, the error names it, nothing stored.
# With b2 and b3 down after 3 (3b): draining or zero-weighting b1, the
# only backend up, is refused (409) and changes nothing; a weight on
# down b2 and an undrain of down b3 leave them out of the ring (new
# connections all reach b1); a drained b3 whose server comes back is up
# for health but stays at weight 0 until it is undrained.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=hc$$
LOADCLIENT=$LAB_BUILD/tools/loadclient
VIP=$(lab_vip 1 4)
INTERVAL_MS=500
UNHEALTHY=2
TIMEOUT_MS=400
OUT=$(mktemp -d /tmp/slotlb-hc.XXXXXX)

# health_of ADDR: "STATE IN_RING" of production's backend ADDR ("- -"
# when unchecked).
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

# wait_health ADDR WANT TIMEOUT_MS: poll status until ADDR is WANT;
# prints the milliseconds it took.
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

# metrics_health ADDR: "UP IN_RING" of backend ADDR's health series in
# /metrics ("- -" without them)
metrics_health()
{
	ctl_api "$P" GET /metrics | awk -v a="$1" '
		index($1, "backend=\"" a "\"") {
			if ($1 ~ /^slotlb_backend_health_up[{]/) up = $2
			if ($1 ~ /^slotlb_backend_health_in_ring[{]/) ring = $2
		}
		END { print (up == "" ? "-" : up), (ring == "" ? "-" : ring) }'
}

# history_health: "outcome detail" of every health entry, oldest first.
history_health()
{
	ctl_cli "$P" -o json history web | python3 -c '
import json, sys
for e in reversed(json.load(sys.stdin)["history"]):
    if e["action"] == "health":
        print(e["outcome"], e["detail"])'
}

# jget FILE EXPR: EXPR over a load client summary d.
jget()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LOADCLIENT"
need_tools curl python3 promtool
ctl_trap_cleanup "$P"
trap 'ctl_cleanup_all; rm -rf "$OUT"' EXIT
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" "$i" v1 || die "httpd b$i"
done
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 3 || die "attach"
# shellcheck disable=SC2015 # die is the else of the whole chain
ctl_cli "$P" app create web --endpoint "$VIP:80" >/dev/null &&
	ctl_cli "$P" deploy web --slot production --backend "$(be 1)" \
		--backend "$(be 2)" --backend "$(be 3)" --version v1 \
		>/dev/null || die "seed app"

echo "# bad input changes nothing"
bad()
{
	local desc=$1 want=$2 rc err

	shift 2
	err=$(cli slot health web --slot production "$@" 2>&1 >/dev/null)
	rc=$?
	check "$desc: exit 2 (got $rc: $err)" [ "$rc" -eq 2 ]
	check "$desc: error says '$want'" grep -q "^Error: .*$want" <<<"$err"
}
bad "interval 0" "interval must be" --interval 0
bad "thresholds 0" "threshold must be" --unhealthy-after 0
bad "healthy-after 0" "threshold must be" --healthy-after 0
bad "unknown TCP treatment" "reset or leave" --on-down-tcp drop
# interval below the timeout passes each field's rule: the API refuses
err=$(cli slot health web --slot production --interval 1 --timeout 2 2>&1)
rc=$?
check "interval below the timeout: exit 1 ($rc: $err)" [ "$rc" -eq 1 ]
check "interval below the timeout: error names it" \
	grep -q "^Error: health: interval must not be shorter than the timeout" \
	<<<"$err"
out=$(ctl_api "$P" PUT /v1/apps/web/slots/production/health \
	'{"interval_s": 0.5, "unhealthy_after": 0}')
check "API: threshold 0 answers 400" [ "$(tail -1 <<<"$out")" = 400 ]
check "nothing stored: health checks off" \
	grep -q "^health checks: off" <<<"$(cli slot health web --slot production)"

echo "# health policy on production"
out=$(cli slot health web --slot production --path / --status 200 \
	--interval 0.5 --timeout 0.4 --unhealthy-after "$UNHEALTHY" \
	--healthy-after 2 --on-down-tcp reset)
check "policy stored ($out)" grep -q "interval 0.5 s, timeout 0.4 s" <<<"$out"
for i in 1 2 3; do
	wait_health "$(be "$i")" "up in" 5000 >/dev/null
	check "b$i probed and up" [ "$(health_of "$(be "$i")")" = "up in" ]
done

echo "# 1. b2's server dies under load"
lab_exec_client "$P" timeout 40 "$LOADCLIENT" --target "$VIP:80" \
	--keepalive 4 --new-rate 40 --duration 4 --timeout-ms 2000 \
	--json "$OUT/during.json" &
load=$!
sleep 1
t_kill=$(now_ms)
lab_stop_httpd "$P" 2
took=$(wait_health "$(be 2)" "down out" 10000)
echo "   b2 left the ring $took ms after its server died" \
	"(bound $((INTERVAL_MS * UNHEALTHY + TIMEOUT_MS)) ms + polling)"
check "b2 down and out of the ring" [ "$(health_of "$(be 2)")" = "down out" ]
check "metrics: b2 down, out of the ring ($(metrics_health "$(be 2)")); b1 up" \
	[ "$(metrics_health "$(be 2)") $(metrics_health "$(be 1)")" = "0 0 1 1" ]
# Worst case: died just after a pass, then UNHEALTHY failures, each
# refused at once (nothing listens); 1.5 s of slack for a loaded host.
check "b2 left within interval x unhealthy-after (+1.5 s slack)" \
	[ "$took" -le $((INTERVAL_MS * UNHEALTHY + TIMEOUT_MS + 1500)) ]
wait "$load"
echo "   during: $(jget "$OUT/during.json" \
	'"ok %d failed %d connect_errors %d" % (d["requests_ok"], d["requests_failed"], d["connect_errors"])')"
t_detect_rel=$(($(now_ms) - t_kill))
# A weight change republishes the ring: without b2, which is still down
cli backend weight web --slot production --backend "$(be 1)" --weight 2 \
	>/dev/null
check "b1's weight 2 while b2 is down" [ $? -eq 0 ]
lab_exec_client "$P" timeout 30 "$LOADCLIENT" --target "$VIP:80" \
	--new-rate 100 --duration 3 --timeout-ms 2000 \
	--json "$OUT/after.json" || die "load after detection"
summary=$(jget "$OUT/after.json" \
	'"%d %d %d %d" % (d["requests_ok"], d["requests_failed"], d["connect_errors"], d["resets"])')
echo "   after detection (+$t_detect_rel ms): ok failed connect_errors resets = $summary"
read -r ok failed cerr resets <<<"$summary"
check "after detection: >= 250 new connections ok" [ "$ok" -ge 250 ]
check "after detection and a weight change: no new connection failed" \
	[ $((failed + cerr + resets)) -eq 0 ]
cli backend weight web --slot production --backend "$(be 1)" --weight 1 \
	>/dev/null
check "b1's weight back to 1" [ $? -eq 0 ]
lab_start_httpd "$P" 2 v1 || die "restart b2"
took=$(wait_health "$(be 2)" "up in" 10000)
echo "   b2 back in the ring $took ms after its restart"
check "b2 back up and in the ring" [ "$(health_of "$(be 2)")" = "up in" ]
check "metrics: b2 up and in the ring ($(metrics_health "$(be 2)"))" \
	[ "$(metrics_health "$(be 2)")" = "1 1" ]
hist=$(history_health)
echo "$hist" | sed 's/^/   history: /'
check "history: b2 down after exactly $UNHEALTHY failed probes, left the ring" \
	grep -q "^down backend $(be 2) .* down after $UNHEALTHY failed probes .*left the ring" \
	<<<"$hist"
check "history: b2 up, back in the ring" \
	grep -q "^up backend $(be 2) .*back in the ring" <<<"$hist"

echo "# 2. b3 hangs: a pinned keep-alive connection gets a reset"
cat >"$OUT/pinned.py" <<'EOF'
import socket, sys, time
vip, want, go = sys.argv[1], sys.argv[2], sys.argv[3]
req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
def get(s):
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(4096)
        if not c:
            raise ConnectionError("closed")
        data += c
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return body.decode()
pinned = None
for _ in range(60):
    s = socket.create_connection((vip, 80), timeout=5)
    if want in get(s):
        pinned = s
        break
    s.close()
if not pinned:
    print("no connection reached", want); sys.exit(3)
print("pinned", flush=True)
while not __import__("os").path.exists(go):
    time.sleep(0.05)
t0 = time.time()
try:
    get(pinned)
    print("answered"); sys.exit(1)
except ConnectionResetError:
    print("reset %d" % ((time.time() - t0) * 1000)); sys.exit(0)
except socket.timeout:
    print("timeout"); sys.exit(1)
except Exception as e:
    print("other", e); sys.exit(1)
EOF
: >"$OUT/pinned.out"
lab_exec_client "$P" timeout 30 python3 "$OUT/pinned.py" "$VIP" "$(be 3)" \
	"$OUT/go" >"$OUT/pinned.out" 2>&1 &
client=$!
for ((i = 0; i < 100; i++)); do
	grep -q pinned "$OUT/pinned.out" && break
	sleep 0.1
done
check "client holds a connection pinned to b3" grep -q pinned "$OUT/pinned.out"
pid3=$(cat "$(lab_state_dir "$P")/httpd-b3.pid")
kill -STOP "$pid3"
took=$(wait_health "$(be 3)" "down out" 10000)
echo "   hung b3 left the ring in $took ms"
check "hung b3 down and out of the ring" \
	[ "$(health_of "$(be 3)")" = "down out" ]
touch "$OUT/go"
wait "$client"
rc=$?
echo "   pinned client: $(tr '\n' ' ' <"$OUT/pinned.out")"
check "pinned request answered by a reset (exit $rc)" [ "$rc" -eq 0 ]
check "the reset came within a second" \
	[ "$(awk '/^reset/ { print $2 }' "$OUT/pinned.out")" -lt 1000 ]
rst=$(ctl_exec_lb "$P" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	stats 2>/dev/null | awk '/^tx_rst_backend_down/ { print $2 }')
check "data path counted the reset (tx_rst_backend_down ${rst:-0})" \
	[ "${rst:-0}" -ge 1 ]
kill -CONT "$pid3"
wait_health "$(be 3)" "up in" 10000 >/dev/null
check "b3 back once it answers" [ "$(health_of "$(be 3)")" = "up in" ]

echo "# 3. the last backend stays in the ring (fail open)"
lab_stop_httpd "$P" 1
wait_health "$(be 1)" "down out" 10000 >/dev/null
lab_stop_httpd "$P" 3
wait_health "$(be 3)" "down out" 10000 >/dev/null
lab_stop_httpd "$P" 2
took=$(wait_health "$(be 2)" "down in" 10000)
echo "   b2, the last one, down but kept after $took ms"
check "last backend down but kept in the ring" \
	[ "$(health_of "$(be 2)")" = "down in" ]
check "b1 and b3 out" [ "$(health_of "$(be 1)") $(health_of "$(be 3)")" = \
	"down out down out" ]
check "metrics: the kept b2 down but in the ring ($(metrics_health "$(be 2)"))" \
	[ "$(metrics_health "$(be 2)")" = "0 1" ]
out=$(ctl_api "$P" GET /metrics | sed '$d' | promtool check metrics 2>&1)
check "promtool check metrics passes with health series ($out)" [ -z "$out" ]
check "status table says fail open" \
	grep -q "fail open" <<<"$(cli status web)"
check "history says fail open" \
	grep -q "^down backend $(be 2) .*kept in the ring.*fail open" \
	<<<"$(history_health)"
lab_start_httpd "$P" 1 v1 || die "restart b1"
wait_health "$(be 1)" "up in" 10000 >/dev/null
took=$(wait_health "$(be 2)" "down out" 5000)
check "b1 back: the kept b2 leaves the ring ($took ms)" \
	[ "$(health_of "$(be 2)")" = "down out" ]
served=$(for k in 1 2 3 4 5 6; do
	lab_exec_client "$P" curl -s --noproxy '*' -m 2 "http://$VIP/" ||
		echo failed
done | sort | uniq -c | sed 's/^ *//' | paste -sd';')
check "new connections go to b1 only ($served)" \
	[ "$served" = "6 v1 $(be 1)" ]
check "every ring health published was taken (no 'publishing its ring' error)" \
	eval "! grep 'health: publishing its ring' '$(ctl_dir "$P")/slotlbd.log'"

echo "# 3b. health and drain together (b1 up; b2, b3 down and out)"
# served N: "COUNT BODY;..." of N new connections to production
served()
{
	for ((k = 0; k < $1; k++)); do
		lab_exec_client "$P" curl -s --noproxy '*' -m 2 "http://$VIP/" ||
			echo failed
	done | sort | uniq -c | sed 's/^ *//' | paste -sd';'
}
# weight_of ADDR: "WEIGHT DRAINED" of production's backend ADDR
weight_of()
{
	cli -o json status web | python3 -c '
import json, sys
for b in json.load(sys.stdin)["apps"][0]["slots"][0]["deployment"]["backends"]:
    if b["address"] == sys.argv[1]:
        print(b["weight"], str(b["drained"]).lower())' "$1"
}
for cmd in "drain" "weight --weight 0"; do
	# shellcheck disable=SC2086 # cmd is two words or three
	err=$(cli backend $cmd web --slot production --backend "$(be 1)" 2>&1)
	rc=$?
	check "$cmd b1, the only one up: refused ($rc: $err)" [ "$rc" -ne 0 ]
	check "... with a 409 that names it" \
		grep -q "^Error: $(be 1): the last backend of its family" <<<"$err"
done
check "b1 unchanged (weight 1, not drained)" [ "$(weight_of "$(be 1)")" = "1 false" ]
need "weight b2 (down) 5" cli backend weight web --slot production \
	--backend "$(be 2)" --weight 5
need "drain b3 (down), then undrain it" eval "cli backend drain web \
	--slot production --backend $(be 3) >/dev/null && cli backend undrain \
	web --slot production --backend $(be 3) >/dev/null"
check "weight and undrain did not bring b2, b3 back into the ring" \
	[ "$(health_of "$(be 2)") $(health_of "$(be 3)")" = "down out down out" ]
out=$(served 12)
check "new connections still go to b1 only ($out)" [ "$out" = "12 v1 $(be 1)" ]
need "drain b3 (down)" cli backend drain web --slot production \
	--backend "$(be 3)"
lab_start_httpd "$P" 3 v1 || die "restart b3"
took=$(wait_health "$(be 3)" "up in" 10000)
check "drained b3 back up after $took ms" [ "$(health_of "$(be 3)")" = "up in" ]
check "... still drained" [ "$(weight_of "$(be 3)")" = "1 true" ]
out=$(served 20)
check "health keeps drained b3 at weight 0: all to b1 ($out)" \
	[ "$out" = "20 v1 $(be 1)" ]
need "undrain b3" cli backend undrain web --slot production \
	--backend "$(be 3)"
out=$(served 20)
check "undrained and up, b3 takes new connections again ($out)" \
	grep -q "v1 $(be 3)" <<<"$out"

echo "# 4. policy removed: every backend back in the ring"
cli slot health web --slot production --off >/dev/null
took=$(wait_health "$(be 2)" "- -" 5000)
check "policy off: nothing checked any more" \
	[ "$(health_of "$(be 2)")" = "- -" ]
check "history: b2 back, no policy probes it" \
	grep -q "^up backend $(be 2) .*no health policy" <<<"$(history_health)"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: health: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: health"
