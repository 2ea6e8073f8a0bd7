#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (measures shares and failures under load)
#
# Per-backend drain and reweight under load (issue 9, drain control).
# One deployment, three backends labelled b1 b2 b3. While the load
# client keeps 24 keep-alive connections busy and opens 200 new ones a
# second: b2 is drained (new connections stop reaching it, its pinned
# keep-alive connections go on being answered by it, status shows it
# drained with its flows), then undrained; nothing fails. Then the
# weights are 1, 2, 1 and 10,000 new connections split 25/50/25 within
# 3 points; weight 0 takes b3 out. Bad input changes nothing.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=bd$$
LOADCLIENT=$LAB_BUILD/tools/loadclient
VIP=$(lab_vip 1 4)
OUT=$(mktemp -d /tmp/slotlb-bd.XXXXXX)

# jget FILE EXPR: EXPR over the load client's summary d.
jget()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# backend_field ADDR FIELD: FIELD of ADDR in web's production status.
backend_field()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
for s in app["slots"]:
    d = s.get("deployment") or {}
    for b in d.get("backends", []):
        if b["address"] == sys.argv[1]:
            print(b[sys.argv[2]])' "$1" "$2"
}

expect_fail()
{
	! "$@" >/dev/null 2>"$OUT/err" && grep -q "^Error: " "$OUT/err"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
	"$LOADCLIENT"
need_tools curl python3
ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "b$i" || exit 1
done
ctl_start "$P" --drain-interval 200 || exit 1
ctl_attach_all "$P" 3 || die "attach failed"
need "app create web" cli app create web --endpoint "$VIP:80" >/dev/null
need "deploy b1 b2 b3" cli deploy web --slot production --backend "$(be 1)" \
	--backend "$(be 2)" --backend "$(be 3)" --version v1 >/dev/null

# Bad input: a clear error, nothing changed.
hist0=$(cli -o json history web | python3 -c 'import json,sys
print(len(json.load(sys.stdin)["history"]))')
check "an unknown backend is refused" expect_fail cli backend drain web \
	--slot production --backend 10.9.9.9:80
grep -q "not a backend of web/production" "$OUT/err" ||
	check "its error names it" false
check "a weight out of range is refused" expect_fail cli backend weight \
	web --slot production --backend "$(be 1)" --weight 70000
check "a weight that is not a number is refused" expect_fail cli backend \
	weight web --slot production --backend "$(be 1)" --weight x
check "an unknown slot is refused" expect_fail cli backend drain web \
	--slot staging --backend "$(be 1)"
check "nothing was recorded" [ "$(cli -o json history web | python3 -c '
import json,sys; print(len(json.load(sys.stdin)["history"]))')" = "$hist0" ]

# Drain b2 under load, then undrain it.
# (stopped with SIGTERM once undrained: it writes its summary then)
lab_exec_client "$P" "$LOADCLIENT" --target "$VIP:80" --keepalive 24 \
	--new-rate 200 --duration 60 --interval-ms 250 --log-errors \
	--json "$OUT/load.json" --events "$OUT/events.csv" \
	>/dev/null 2>"$OUT/load.err" &
load=$!
t0=$(now_ms)
sleep 1.5
need "drain b2 (its flows reset after 600 s)" cli backend drain web \
	--slot production --backend "$(be 2)" --timeout 600
# (the load client's clock started after t0: its times are earlier)
t_drain=$(($(now_ms) - t0))
sleep 0.5
check "status shows b2 drained" [ "$(backend_field "$(be 2)" drained)" = True ]
check "status: b2's drain deadline is 600 s after its drain" python3 -c '
import datetime, json, sys
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
app = json.loads(sys.argv[1])["apps"][0]
b = [b for b in app["slots"][0]["deployment"]["backends"]
     if b["address"] == sys.argv[2]][0]
assert (t(b["drain_deadline"]) - t(b["drained_since"])).seconds == 600, b' \
	"$(cli -o json status web)" "$(be 2)"
check "status table: b2 (drained, reset at its deadline)" \
	grep -q "$(be 2) (drained, reset at 20" <<<"$(cli status web)"
ka_flows=$(backend_field "$(be 2)" flows)
echo "   b2 drained with $ka_flows pinned flows"
sleep 1.5
t_undrain=$(($(now_ms) - t0 - 500))
need "undrain b2" cli backend undrain web --slot production \
	--backend "$(be 2)"
sleep 1.5
pkill -TERM -f -- "--json $OUT/load.json"
wait $load
# per second: kind:version counts (for the log)
awk -F, 'NR > 1 { n[int($1 / 1000) " " $2 ":" $3]++ }
	END { for (k in n) print k, n[k] }' "$OUT/events.csv" | sort -n |
	awk '{ line[$1] = line[$1] " " $2 "=" $3 }
	END { for (t in line) print "   s" t ":" line[t] }' | sort
echo "   drain at $t_drain ms, undrain at $t_undrain ms"
echo "   load: $(jget "$OUT/load.json" '"ok %d failed %d connect_errors %d resets %d" % (d["requests_ok"], d["requests_failed"], d["connect_errors"], d["resets"])')"
check "no request failed, none reset or refused" [ "$(jget "$OUT/load.json" \
	'd["requests_failed"] + d["connect_errors"] + d["resets"] + d["io_errors"]')" = 0 ]
# the load client names each connect error on its stderr
sed -n '1,10s/^/   load client: /p' "$OUT/load.err"
# new connections answered between 300 ms after the drain and the undrain
new_b2=$(awk -F, -v a=$((t_drain + 300)) -v b="$t_undrain" \
	'$2 == "new" && $1 > a && $1 < b && $3 == "b2"' "$OUT/events.csv" |
	wc -l)
new_all=$(awk -F, -v a=$((t_drain + 300)) -v b="$t_undrain" \
	'$2 == "new" && $1 > a && $1 < b' "$OUT/events.csv" | wc -l)
echo "   while drained: $new_b2 of $new_all new connections on b2"
awk -F, -v a="$t_drain" -v b="$t_undrain" '$2 == "new" && $3 == "b2" &&
	$1 > a - 1000 && $1 < b' "$OUT/events.csv" | head -5
check "while drained, no new connection reached b2" [ "$new_b2" = 0 ] &&
	[ "$new_all" -gt 100 ]
ka_b2=$(awk -F, -v a=$((t_drain + 300)) -v b="$t_undrain" \
	'$2 == "keepalive" && $1 > a && $1 < b && $3 == "b2"' \
	"$OUT/events.csv" | wc -l)
echo "   while drained: $ka_b2 keep-alive answers from b2"
check "its pinned keep-alive connections were still answered by b2" \
	[ "$ka_b2" -gt 0 ] && [ "$ka_flows" -gt 0 ]
late_b2=$(awk -F, -v a=$((t_undrain + 300)) \
	'$2 == "new" && $1 > a && $3 == "b2"' "$OUT/events.csv" | wc -l)
check "after the undrain b2 takes new connections again ($late_b2)" \
	[ "$late_b2" -gt 0 ]
check "status shows b2 back" [ "$(backend_field "$(be 2)" drained)" = False ]

# Reweight 1, 2, 1: 10,000 new connections.
need "weight b2 2" cli backend weight web --slot production \
	--backend "$(be 2)" --weight 2
# runs of 5 s until 10,000 connections (a busy machine opens fewer a
# second than asked), their counts summed
for run in 1 2 3 4 5 6 7 8 9 10; do
	lab_exec_client "$P" "$LOADCLIENT" --target "$VIP:80" \
		--new-rate 500 --duration 5 --timeout-ms 5000 \
		--json "$OUT/w$run.json" \
		>/dev/null 2>"$OUT/w.err"
	total=$(python3 -c '
import json, sys
t = {"ok": 0, "bad": 0, "b1": 0, "b2": 0, "b3": 0}
for f in sys.argv[1:]:
    d = json.load(open(f))
    t["ok"] += d["requests_ok"]
    t["bad"] += d["requests_failed"] + d["connect_errors"] + d["resets"]
    t["why"] = "%s connect_errors %d resets %d" % (
        d["failed_by_reason"], d["connect_errors"], d["resets"])
    for v in ("b1", "b2", "b3"):
        t[v] += d["versions"].get(v, 0)
print(json.dumps(t))' "$OUT"/w[0-9]*.json)
	echo "$total" >"$OUT/w.json"
	[ "$(jget "$OUT/w.json" 'd["ok"] >= 10000')" = True ] && break
done
shares=$(jget "$OUT/w.json" '" ".join("%s=%.1f" % (v, 100.0 * d[v] / max(1, d["ok"])) for v in ("b1", "b2", "b3"))')
echo "   $(jget "$OUT/w.json" 'd["bad"], d["why"]') failed; $(jget "$OUT/w.json" 'd["ok"]') connections in $run runs: $shares (want 25/50/25)"
check "10,000 new connections, none failed" [ "$(jget "$OUT/w.json" \
	'd["ok"] >= 10000 and d["bad"] == 0')" = True ]
check "shares follow the weights within 3 points" [ "$(jget "$OUT/w.json" '
all(abs(100.0 * d[v] / d["ok"] - w) <= 3
    for v, w in (("b1", 25), ("b2", 50), ("b3", 25)))')" = True ]
check "status shows weight 2" [ "$(backend_field "$(be 2)" weight)" = 2 ]

need "weight b3 0" cli backend weight web --slot production \
	--backend "$(be 3)" --weight 0
n3=0
for i in $(seq 1 30); do
	v=$(lab_exec_client "$P" curl -s --noproxy '*' -m 2 \
		-H 'Connection: close' "http://$VIP/" | cut -d' ' -f1)
	[ "$v" = b3 ] && n3=$((n3 + 1))
done
check "weight 0 drains b3: no new connection of 30 reached it" [ $n3 = 0 ]
last_err=$(cli backend drain web --slot production --backend "$(be 1)" \
	>/dev/null && cli backend drain web --slot production \
	--backend "$(be 2)" 2>&1 >/dev/null)
last_rc=$?
check "draining every backend is refused (exit $last_rc)" [ "$last_rc" -ne 0 ]
check "refused by the 409 naming the last backend ($last_err)" grep -q \
	"the last backend of its family in web/production" <<<"$last_err"
check "history records the backend changes" \
	[ "$(cli history web | grep -c backend)" -ge 5 ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: backend drain: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: backend drain"
