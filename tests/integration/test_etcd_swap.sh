#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The fleet's shared state (slotlbd --store etcd://): two nodes, each in
# a lab of its own with its own state dir and pin root, one real etcd
# member (etcd_lib.sh). What one node does, the other applies to its
# own maps:
#
#  - a malformed --store URL: a clear error, exit 2, nothing created;
#  - an app created and deployed on node a: node b's status shows it,
#    b's routing map says the same as a's, b's client gets v1;
#  - the same Maglev table on both nodes (ring of a weighted
#    deployment, byte for byte) and the same hash seed;
#  - SWAPS swaps on a (20; 50 for docs/PERFORMANCE.md): each one
#    reaches b's maps; the time until it does is printed (p50/p99),
#    never asserted;
#  - a keep-alive flow pinned on node b to a draining deployment (d1)
#    keeps it draining on both nodes while node a counts 0 flows to it;
#    once it ends d1 retires, once;
#  - node b stopped: its maps keep forwarding what it had; swaps on a
#    meanwhile; b started again converges to the fleet's state;
#  - a snapshot every 10 entries (--store-snapshot-every): the log's
#    first entries are deleted; a third node (c) joining with an empty
#    state dir loads the snapshot and then holds what a holds (status,
#    exports, history, routing elements, a Maglev ring).
#
# Fails when a node does not apply the other's entries (b's status,
# routing map or traffic stay behind), when rings or seeds differ,
# when a restarted node does not catch up, when a node with no flow
# retires a deployment another node's flow is pinned to, or when the
# log is never compacted or a node joining after it differs from a.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
# shellcheck source=tests/integration/etcd_lib.sh
. tests/integration/etcd_lib.sh

P=es$$
OUT=$(mktemp -d /tmp/slotlb-es.XXXXXX)
SWAPS=${SWAPS:-20}
# a snapshot every 10 entries: several during the swaps
SNAP_EVERY=10

require_built "$CTL_SLOTLBD"
need_tools sha256sum

# --- bad input: no daemon, no lab ---------------------------------------
for url in 'http://198.51.100.1:2379' 'etcd://198.51.100.1' \
	'etcd://198.51.100.1:2379,' 'etcd://198.51.100.1:99999' \
	'etcd://host name:2379'; do
	out=$("$CTL_SLOTLBD" --config /dev/null --state-dir "$OUT/bad" \
		--store "$url" --check-config 2>&1)
	rc=$?
	check "--store '$url': exit 2 with 'Error: store: ...' ($rc: $out)" \
		eval '[ $rc -eq 2 ] && grep -q "^Error: store: '"'"'$url'"'"': " <<<"$out"'
done
check "bad --store created no state dir" [ ! -e "$OUT/bad" ]

etcd_fleet_up attach --drain-interval 200 --store-snapshot-every $SNAP_EVERY

b_has_web()
{
	on b -o json status web 2>/dev/null | grep -q '"version": "v2"'
}

# --- a deploy on a reaches b -------------------------------------------
etcd_web_up
check "node b's status shows web's two deployments" wait_for 10 b_has_web
check "node b's routing map equals node a's" wait_for 10 same_routing
check "node b's routing map has both slots (dpctl)" \
	eval '[ "$(routing_show_of b | grep -c deployment)" -ge 2 ]'
check "web answers v1 through node b" [ "$(version_via b 1)" = v1 ]
check "web staging answers v2 through node b" [ "$(version_via b 2)" = v2 ]

# --- the same Maglev table on both nodes ---------------------------------
need "app ring deployed on node a with four weighted backends" eval "
	on a app create ring --endpoint $(lab_vip 9 4):80 >/dev/null &&
	on a deploy ring --slot production --backend 198.19.1.2:9001,weight=1 \
		--backend 198.19.1.2:9002,weight=2 \
		--backend 198.19.2.2:9003,weight=3 \
		--backend 198.19.2.2:9004,weight=4 --version r1 >/dev/null"
ring_dep=$(on a -o json status ring | python3 -c '
import json, sys
print(json.load(sys.stdin)["apps"][0]["slots"][0]["deployment"]["id"])')
# ring_sum NODE: sha256 of the IPv4 ring of ring's deployment.
ring_sum()
{
	local inner

	inner=$(bpftool -j map lookup pinned \
		"$(ctl_pin_root "$P$1")/deployment_rings" \
		key $((ring_dep * 2)) 0 0 0 2>/dev/null |
		python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(int.from_bytes(bytes(int(x, 16) for x in v), "little"))')
	[ -n "$inner" ] || return 1
	bpftool -j map dump id "$inner" | sha256sum | cut -d' ' -f1
}
ring_b_like_a() { [ -n "$(ring_sum b)" ] && [ "$(ring_sum a)" = "$(ring_sum b)" ]; }
check "deployment $ring_dep: node b's Maglev ring equals node a's (65537 entries)" \
	wait_for 10 ring_b_like_a
seed_a=$(ctl_exec_lb "$P"a "$DPCTL" --pin-root "$(ctl_pin_root "$P"a)" seed)
seed_b=$(ctl_exec_lb "$P"b "$DPCTL" --pin-root "$(ctl_pin_root "$P"b)" seed)
check "both nodes hash flows with the fleet's seed ($seed_a, $seed_b)" \
	[ -n "$seed_a" ] && [ "$seed_a" = "$seed_b" ]
# dpctl seed on one node: its slotlbd puts the fleet's back (drain tick)
seed_of_b() { ctl_exec_lb "$P"b "$DPCTL" --pin-root "$(ctl_pin_root "$P"b)" seed; }
ctl_exec_lb "$P"b "$DPCTL" --pin-root "$(ctl_pin_root "$P"b)" seed 0x12345 \
	>/dev/null
seed_b_is_fleet() { [ "$(seed_of_b)" = "$seed_a" ]; }
check "a seed changed by hand on node b is set back to the fleet's" \
	wait_for 5 seed_b_is_fleet
check "node b logs it" grep -q "hash seed 0x12345 is not the fleet's" \
	"$(ctl_dir "$P"b)/slotlbd.log"

# --- swaps on a, applied on b ----------------------------------------------
# Each swap is one log entry; node a logs when it appended it, node b
# when its maps had applied it (wall clock ms, one machine): the time
# until b flipped. Every 10th swap, b's routing map itself is compared.
ok=0
first=$(applied a | cut -d' ' -f1)
for ((i = 1; i <= SWAPS; i++)); do
	t0=$(now_ms)
	if ! on a slot swap web --slot staging >/dev/null 2>"$OUT/swap.err"; then
		echo "swap $i: $(cat "$OUT/swap.err")"
		continue
	fi
	ok=$((ok + 1))
	echo "$(($(now_ms) - t0))" >>"$OUT/swap.ms"
	if [ $((i % 10)) -eq 5 ]; then
		check "swap $i: node b's routing map flipped like node a's" \
			wait_for 10 same_routing
	fi
done
check "$SWAPS swaps on node a succeeded ($ok)" [ "$ok" -eq "$SWAPS" ]
# flip_times: "N ms" per entry node a appended since the swaps began.
flip_times()
{
	python3 - "$(ctl_dir "$P"a)/slotlbd.log" "$(ctl_dir "$P"b)/slotlbd.log" \
		"$1" <<'PY'
import re, sys
app = {int(m[0]): int(m[1]) for m in re.findall(
    r"store: appended entry (\d+) \(revision \d+\) at (\d+) ms", open(sys.argv[1]).read())}
got = [(int(m[0]), int(m[1])) for m in re.findall(
    r"store: applied up to entry (\d+) .* at (\d+) ms", open(sys.argv[2]).read())]
for n in sorted(e for e in app if e > int(sys.argv[3])):
    t = [ms for (m, ms) in got if m >= n]
    # node a logs "appended" after etcd answered it; node b's watch may
    # apply it before that (seen: a negative time, which the count of
    # timed entries below left out): 0
    print(n, max(0, min(t) - app[n]) if t else -1)
PY
}
b_applied_all()
{
	local t

	# every entry since the first swap (swaps, and whatever node a's
	# own threads wrote meanwhile) reached node b's maps
	t=$(flip_times "$first") &&
		[ "$(grep -c ' [0-9][0-9]*$' <<<"$t")" -ge "$SWAPS" ] &&
		! grep -q ' -1$' <<<"$t"
}
if ! check "node b applied each entry of the $SWAPS swaps (its log says when)" \
	wait_for 10 b_applied_all; then
	# what to look at: the entries without a time, both nodes' store lines
	flip_times "$first" | grep -- ' -1$'
	grep -h 'store:' "$(ctl_dir "$P"a)/slotlbd.log" | tail -8
	grep -h 'store:' "$(ctl_dir "$P"b)/slotlbd.log" | tail -8
fi
flip_times "$first" >"$OUT/flip.ms"
python3 - "$OUT/flip.ms" "$OUT/swap.ms" <<'PY'
import sys
def show(what, v):
    v = sorted(v)
    if v:
        q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
        print("# %s: n=%d p50=%d p99=%d max=%d ms" % (what, len(v), q(0.5), q(0.99), v[-1]))
show("node b's maps flipped after node a appended the swap",
     [int(l.split()[1]) for l in open(sys.argv[1]) if l.split()[1] != "-1"])
show("slotlb slot swap on node a, command start to exit",
     [int(l) for l in open(sys.argv[2])])
PY
check "node b's routing map equals node a's after the swaps" wait_for 10 same_routing
check "web answers the same version through both nodes" \
	[ "$(version_via a 1)" = "$(version_via b 1)" ]

# --- a drain ends when every node's own flows to it ended ------------------
# hold's d1 serves one keep-alive connection through node b; d2 and d3
# are deployed on node a, so d1 drains (nobody's previous). Node a has
# no flow to d1: it must not retire it while node b's flow is pinned.
# KA: the connection's driver; $OUT/ka/req.N sends request N on the
# same socket ("N PORT BODY"), $OUT/ka/close ends it ("closed").
KA='
import http.client, os, sys, time
c = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
ctl, n, end = sys.argv[2], 0, time.time() + 90
while time.time() < end and not os.path.exists(ctl + "/close"):
    if os.path.exists("%s/req.%d" % (ctl, n)):
        c.request("GET", "/")
        print(n, c.sock.getsockname()[1], c.getresponse().read().decode().strip(), flush=True)
        n += 1
    time.sleep(0.02)
c.close()
print("closed", flush=True)
'
# ka N: request N on the connection; its line (10 s bound).
ka()
{
	touch "$OUT/ka/req.$1"
	wait_for 10 grep -q "^$1 " "$OUT/ka.out"
	grep "^$1 " "$OUT/ka.out"
}
# draining NODE: hold's draining deployments on NODE, as VERSION:FLOWS.
draining()
{
	on "$1" -o json status hold | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join(sorted("%s:%d" % (d["version"], d["flows"])
                      for d in app["draining"])))'
}
# fleet_d1 NODE: as NODE's status shows the fleet's drain counts of
# hold's d1: "a:N b:M" (node a's and node b's pinned flows to it).
fleet_d1()
{
	on "$1" -o json status | python3 -c '
import json, sys
st = json.load(sys.stdin)
hold = [a for a in st["apps"] if a["name"] == "hold"][0]
serial = [d["drain"]["serial"] for d in hold["draining"] if d["version"] == "d1"][0]
print(" ".join(sorted("%s:%d" % (x["node"], x["flows"])
                      for x in st["fleet"]["drains"] if x["deployment"] == serial)))'
}
mkdir -p "$OUT/ka"
need "app hold deployed on node a (d1)" eval "
	on a app create hold --endpoint $(lab_vip 5 4):80 >/dev/null &&
	on a deploy hold --slot production --backend $(be 1) --version d1 \
		>/dev/null"
b_has_hold() { on b -o json status hold 2>/dev/null | grep -q '"d1"'; }
need "node b applied hold" wait_for 10 b_has_hold
lab_exec_client "$P"b timeout 100 python3 -c "$KA" "$(lab_vip 5 4)" \
	"$OUT/ka" >"$OUT/ka.out" 2>&1 &
first=$(ka 0)
need "keep-alive connection through node b answered by d1 ($first)" \
	[ "$(cut -d' ' -f3 <<<"$first")" = v1 ]
for v in d2 d3; do
	need "deploy $v of hold on node a" eval "on a deploy hold \
		--slot production --backend $(be 2) --version $v >/dev/null"
done
# 3 s: past the 1 s drain margin and many drain ticks on both nodes
t0=$(now_ms)
bad=0
n=1
while [ $(($(now_ms) - t0)) -lt 3000 ] || [ $n -le 3 ]; do
	got=$(ka $n)
	sa=$(draining a)
	sb=$(draining b)
	if [ "$(cut -d' ' -f2- <<<"$got")" != "$(cut -d' ' -f2- <<<"$first")" ] ||
		[ "$sa" != "d1:0 d2:0" ] || [ "$sb" != "d1:1 d2:0" ]; then
		echo "   after $(($(now_ms) - t0)) ms: request '$got'," \
			"draining on a '$sa', on b '$sb'"
		bad=$((bad + 1))
	fi
	n=$((n + 1))
	sleep 0.2
done
check "d1 kept draining on both nodes while node b's flow was pinned (node a: 0 flows); the connection kept its socket and d1 ($((n - 1)) requests)" \
	[ $bad -eq 0 ]
fa=$(fleet_d1 a 2>&1)
check "node a's status shows the fleet's drain counts of d1 (a:0 b:1): '$fa'" \
	[ "$fa" = "a:0 b:1" ]
on a status 2>/dev/null | grep "pinned to hold d1" | sed 's/^/   /'
touch "$OUT/ka/close"
t1=$(now_ms)
d1_gone() { [ "$(draining a)" = "d2:0" ] && [ "$(draining b)" = "d2:0" ]; }
check "d1 retired on both nodes once node b's flow ended" wait_for 10 d1_gone
echo "   d1 retired $(($(now_ms) - t1)) ms after the close"
check "the fleet's history has one retire of d1" eval '[ "$(on b -o json history hold |
	grep -c "deployment [0-9]* (d1) retired")" -eq 1 ]'

# --- node b away, then back ---------------------------------------------------
need "node b stopped" ctl_stop "$P"b
held=$(routing_of b)
served=$(version_via b 1)
need "swap on node a while b is away" eval 'on a slot swap web --slot staging >/dev/null'
check "node b's pinned maps keep forwarding what it had ($served)" \
	[ "$(version_via b 1)" = "$served" ] && [ "$(routing_of b)" = "$held" ]
need "node b started again" node_start b --drain-interval 200 \
	--store-snapshot-every $SNAP_EVERY
check "restarted node b converges to node a's routing" wait_for 10 same_routing
check "web answers the same version through both nodes after b's restart" \
	[ "$(version_via a 1)" = "$(version_via b 1)" ]
a_at=$(applied a)
b_caught() { [ -n "$a_at" ] && [ "$(applied b)" = "$a_at" ]; }
check "node b applied the log up to node a's entry ($a_at)" wait_for 10 b_caught
check "node a's status lists both nodes' applied revisions" \
	eval 'on a -o json status | python3 -c "
import json, sys
f = json.load(sys.stdin)[\"fleet\"]
n = {x[\"node\"]: x[\"revision\"] for x in f[\"nodes\"]}
sys.exit(0 if set(n) == {\"a\", \"b\"} and f[\"reachable\"] else 1)"'

# --- a deploy that dies between its two transactions -----------------------
# hold's production gets an apply-settings hook that sleeps 100 s; a
# deploy of o1 on node a commits o1 (in no slot yet) and runs it. While
# node a lives it is a deploy under way, not an orphan: nobody retires
# o1 (checked after the next section, >= 12 s later, past the 10 s
# grace). Then node a dies (-9) in the hook: once its lease is gone
# (<= 10 s), the fleet retires o1, once.
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 100\n' "$OUT/hook.pids" \
	>"$OUT/hook.sh"
chmod 755 "$OUT/hook.sh"
need "hold's production slot gets a 120 s hook on node a" \
	eval 'on a slot hook set hold --slot production --exec "$OUT/hook.sh" \
	--timeout 120 >/dev/null'
SLOTLB_SOCKET=$(ctl_socket "$P"a) timeout 150 "$CTL_CLI" deploy hold \
	--slot production --backend "$(be 1)" --version o1 >/dev/null 2>&1 &
need "node a runs o1's hook (its first transaction committed)" \
	wait_for 20 test -s "$OUT/hook.pids"
hook_t0=$(now_ms)
orphan_retired()
{
	on "$1" -o json history hold |
		grep -c "(o1) of an unfinished deploy retired"
}

# --- a new node joins after the log was compacted ---------------------------
# Node c: slotlbd with an empty state dir and pin root of its own, in
# node b's LB namespace (it reaches etcd; no interface attached). The
# first entries are gone: it must load the snapshot, then the entries
# after it, and hold what a holds.
entry_key() { printf '/slotlb/log/%020d' "$1"; }
check "the log's first entry was compacted away, a snapshot is stored" \
	eval '[ -z "$(etcdctl_ns get --keys-only "$(entry_key 1)")" ] &&
	etcdctl_ns get --keys-only /slotlb/snapshot | grep -q snapshot'
LAB_CLEANUP_PREFIXES+=("${P}c")
node_c_start()
{
	CTL_NETNS=$(lab_ns_lb "$P"b) ctl_start "$P"c --store "$ETCD_URL" \
		--node-name c
}
need "node c started on etcd with an empty state dir" node_c_start
check "node c loaded the snapshot (its log)" \
	grep -q "store: loaded the snapshot at entry" \
	"$(ctl_dir "$P"c)/slotlbd.log" ||
	grep 'store' "$(ctl_dir "$P"c)/slotlbd.log" | tail -5
a_at=$(applied a)
c_caught() { [ -n "$a_at" ] && [ "$(applied c)" = "$a_at" ]; }
check "node c applied the log up to node a's entry ($a_at)" wait_for 10 c_caught
# shown NODE: status without what is the node's own (flows, the fleet)
shown()
{
	on "$1" -o json status | python3 -c '
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items()
                if k not in ("flows", "fleet", "traffic", "busy")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True))'
}
same_c() { [ "$(shown c)" = "$(shown a)" ]; }
if ! check "node c's status equals node a's" wait_for 10 same_c; then
	diff <(shown a | python3 -m json.tool) <(shown c | python3 -m json.tool) |
		head -20
fi
for app in web ring hold; do
	check "node c's export of $app equals node a's" \
		eval '[ "$(on c export $app --show-values)" = "$(on a export $app --show-values)" ]'
done
for id in 0 1 2; do
	routing_c_like_a() { [ "$(routing_of c "$id")" = "$(routing_of a "$id")" ]; }
	check "node c's routing element of app $id equals node a's" \
		wait_for 10 routing_c_like_a
done
check "node c's history equals node a's" \
	eval '[ "$(on c -o json history)" = "$(on a -o json history)" ]'
ring_c_like_a() { [ -n "$(ring_sum c)" ] && [ "$(ring_sum a)" = "$(ring_sum c)" ]; }
check "node c's Maglev ring of deployment $ring_dep equals node a's" \
	wait_for 10 ring_c_like_a

left=$((12000 - ($(now_ms) - hook_t0)))
[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
check "o1 not retired while node a's deploy ran ($(($(now_ms) - hook_t0)) ms)" \
	[ "$(orphan_retired b)" -eq 0 ]
need "node a killed in o1's hook" ctl_stop "$P"a KILL
xargs -r kill <"$OUT/hook.pids" 2>/dev/null
t_kill=$(now_ms)
b_retired_o1() { [ "$(orphan_retired b)" -eq 1 ]; }
check "the fleet retired o1 once node a was gone (node b's history)" \
	wait_for 30 b_retired_o1
echo "   o1 retired $(($(now_ms) - t_kill)) ms after node a's death"
c_retired_o1() { [ "$(orphan_retired c)" -eq 1 ]; }
check "node c's history has the same one retire of o1" wait_for 10 c_retired_o1

[ "$failures" -eq 0 ]
