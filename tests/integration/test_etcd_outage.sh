#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# etcd goes away under a fleet of two nodes, with requests flowing
# through both: traffic keeps flowing on the pinned maps (not one
# request fails), every operation is refused with 503 and a message
# that says the store is unreachable (and the state does not change),
# status still answers on both nodes, a node restarted meanwhile
# starts on its local copy and serves; when etcd is back, operations
# work again and both nodes converge to the same state.
#
# Fails when an operation during the outage answers anything but 503
# with that message or changes a node's maps, when a request fails,
# when a node cannot start without etcd, or when the nodes do not
# converge after it returns.
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

P=eo$$
OUT=$(mktemp -d /tmp/slotlb-eo.XXXXXX)

etcd_fleet_up attach
etcd_web_up
need "node b applied node a's entries" wait_for 10 same_applied
need "node b serves web" wait_for 10 eval '[ "$(version_via b 1)" = v1 ]'

# --- load through both nodes, bounded ------------------------------------
# load NODE: requests to web's production endpoint through NODE's client
# until $OUT/stop (at most 90 s); "ok N failed M" into $OUT/load.NODE.
load()
{
	local n=$1 okc=0 bad=0 end=$(($(now_ms) + 90000)) v

	while [ ! -e "$OUT/stop" ] && [ "$(now_ms)" -lt "$end" ]; do
		v=$(lab_exec_client "$P$n" curl -s --noproxy '*' -m 2 \
			"http://$(lab_vip 1 4)/" | cut -d' ' -f1)
		if [ "$v" = v1 ] || [ "$v" = v2 ]; then
			okc=$((okc + 1))
		else
			bad=$((bad + 1))
			echo "$(date +%T.%N) node $n: got '$v'" >>"$OUT/load.errors"
		fi
	done
	echo "ok $okc failed $bad" >"$OUT/load.$n"
}
load a &
load_a=$!
load b &
load_b=$!

# --- etcd away ----------------------------------------------------------------
held_a=$(routing_of a)
held_b=$(routing_of b)
need "etcd stopped" etcd_stop
for n in a b; do
	out=$(api "$n" POST /v1/apps/web/swap '{"slot":"staging"}')
	check "node $n: a swap while etcd is away answers 503 ($(tail -1 <<<"$out"))" \
		[ "$(tail -1 <<<"$out")" = 503 ]
	check "node $n: its message says the store is unreachable ($(head -1 <<<"$out"))" \
		grep -q "store: etcd://$ETCD_ADDR:2379 unreachable" <<<"$out"
	out=$(on "$n" slot create web --slot blue \
		--endpoint "$(lab_vip 3 4):80" 2>&1)
	rc=$?
	check "node $n: slotlb slot create fails with that message ($rc: $out)" \
		eval '[ $rc -ne 0 ] && grep -q "unreachable" <<<"$out"'
	out=$(on "$n" -o json status)
	check "node $n: status answers, fleet unreachable" \
		python3 -c '
import json, sys
f = json.loads(sys.argv[1])["fleet"]
sys.exit(0 if f["reachable"] is False else 1)' "$out"
done
check "no slot blue on either node (refused operations changed nothing)" \
	eval '! on a status web | grep -q blue && ! on b status web | grep -q blue'
check "node a's maps are untouched" [ "$(routing_of a)" = "$held_a" ]
check "node b's maps are untouched" [ "$(routing_of b)" = "$held_b" ]

need "node a restarted while etcd is away" eval 'ctl_stop "$P"a &&
	node_start a'
check "restarted node a serves web on its local copy" \
	[ "$(version_via a 1)" = v1 ]
check "restarted node a kept its maps" [ "$(routing_of a)" = "$held_a" ]

# --- etcd back ------------------------------------------------------------------
need "etcd started again on its data" etcd_start
swap_b() { [ "$(api b POST /v1/apps/web/swap '{"slot":"staging"}' | tail -1)" = 200 ]; }
check "a swap on node b works again once etcd is back" wait_for 15 swap_b
check "both nodes converge to the same log" wait_for 15 same_applied
check "both nodes' routing maps are equal" wait_for 10 same_routing
check "web answers v2 through both nodes" \
	wait_for 10 eval '[ "$(version_via a 1)/$(version_via b 1)" = v2/v2 ]'
swap_a() { [ "$(api a POST /v1/apps/web/swap '{"slot":"staging"}' | tail -1)" = 200 ]; }
check "a swap on node a (restarted during the outage) works" wait_for 15 swap_a
check "both nodes converge again" wait_for 15 same_applied
check "web answers v1 through both nodes" \
	wait_for 10 eval '[ "$(version_via a 1)/$(version_via b 1)" = v1/v1 ]'

touch "$OUT/stop"
wait "$load_a" "$load_b"
for n in a b; do
	read -r _ okc _ bad <"$OUT/load.$n"
	check "node $n: $okc requests answered, $bad failed, across the outage" \
		[ "$okc" -gt 20 ] && [ "$bad" -eq 0 ]
done
[ -e "$OUT/load.errors" ] && head -5 "$OUT/load.errors"

[ "$failures" -eq 0 ]
