#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The fleet (tools/fleet, docs/fleet.md): three balancer nodes behind a
# router's ECMP route that their BIRDs announce over BGP, sharing their
# state through etcd (slotlbd --store, three members in the lab's
# namespace P-etcd): app web in dsr mode created and deployed ONCE, on
# node 1 (v1 on b1-b3 in production, v2 on b4 in staging); nodes 2 and
# 3 get it from etcd's log, and the fleet's hash seed from etcd.
#
# 0. Nodes 2 and 3 applied node 1's entries: web in their status, the
#    same routing element in all three nodes' maps, the same seed.
# 1. The same 5-tuple gets the same backend through every node: 20
#    client ports, each sent through node 1, 2 and 3 in turn (the
#    router steers by TOS), answer from the same backend each time;
#    through the ECMP route, 60 connections spread over the three.
# 1b. SWAPS (50) swaps issued on node 1 under load spread over the nodes
#    by ECMP: each one flips all three nodes' routing maps (read from
#    their pinned maps every ms; the time is printed, p50/p99, never
#    asserted, only bounded by 10 s), and the load fails no request.
# 2. A node dies (slotlbd killed -9, its XDP program removed, its link
#    down) under load spread over the nodes: the router drops it as a
#    next hop (the time is measured), the load fails no request, and
#    held connections (keep-alive, a download paused half way) that
#    were on it go on through the others. Twice: first with no swap,
#    then on the two nodes left with a swap between the connections'
#    start and the death, where the node a connection moves to never
#    saw it and sends it to v2's backend, whose agent passes it on to
#    v1's (second chance, counted). The swap is taken by one node and
#    reaches the other through etcd.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
# shellcheck source=tools/fleet/fleet.sh
. tools/fleet/fleet.sh

P=fleet$$
LOADCLIENT=$LAB_BUILD/tools/loadclient
CLIENT_PY=tools/fleet/fleet_client.py
MAPS_PY=tools/fleet/fleet_maps.py
SWAPS=${SWAPS:-50}
VIP=$(lab_vip 1 4)
VIP_STAGING=$(lab_vip 2 4)
PORT=$LAB_HTTPD_PORT
OUT=$(mktemp -d /tmp/slotlb-fleet.XXXXXX)
HOLD=8 # keep-alive connections and downloads held across a death
DL=1500000
DL_SUM=
WITHDRAW_MS=()

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
	"$LOADCLIENT" "$DPCTL"
need_tools curl python3 bpftool etcd etcdctl
command -v bird >/dev/null || {
	echo "SKIP: needs bird (bird2, tools/deps.sh)"
	exit 77
}

fleet_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
fleet_up "$P" 4 || exit $?
for i in 1 2 3; do
	need "b$i: agent and httpd (v1-b$i)" fleet_backend_start "$P" $i \
		"v1-b$i" "$VIP" "$VIP_STAGING"
done
need "b4: agent and httpd (v2-b4)" fleet_backend_start "$P" 4 v2-b4 "$VIP" \
	"$VIP_STAGING"
t0=$(now_ms)
need "etcd; three nodes: slotlbd on etcd, XDP on up0, BIRD; the router's route to $VIP has three next hops" \
	fleet_start "$P" "$VIP" "$VIP_STAGING"
echo "# nodes up and announced in $(($(now_ms) - t0)) ms"
fleet_exec_router "$P" ip route show proto bird
ab() { echo "--backend $(fleet_backend_addr "$1"):$PORT"; }
need "app web (dsr) created ONCE, on node 1: v1 (b1-b3) in production, v2 (b4) in staging; nodes 2, 3 applied it from etcd" \
	eval "fleet_configure $P app create web --mode dsr --endpoint $VIP:$PORT \
	>/dev/null && fleet_configure $P slot create web --slot staging \
	--endpoint $VIP_STAGING:$PORT >/dev/null && fleet_configure $P deploy \
	web --slot production --version v1 $(ab 1) $(ab 2) $(ab 3) >/dev/null &&
	fleet_configure $P deploy web --slot staging --version v2 $(ab 4) \
	>/dev/null"
head=$(fleet_etcdctl "$P" get --print-value-only /slotlb/head)
applied=$(for i in 1 2 3; do fleet_applied "$P" $i; done | tr '\n' ' ')
check "etcd's log holds node 1's entries (head $head) and every node applied it ($applied)" \
	[ -n "$head" ] && [ "$applied" = "$head $head $head " ]
for i in 2 3; do
	check "node$i's status shows web's two deployments, never configured there" \
		eval "fleet_cli $P $i -o json status web | grep -q '\"version\": \"v2\"'"
done
APP_ID=$(fleet_cli "$P" 1 -o json status web | python3 -c '
import json, sys
print(json.load(sys.stdin)["apps"][0]["id"])')
mapfile -t PINS < <(fleet_pin_roots "$P")
elements=$(python3 "$MAPS_PY" routing "$APP_ID" "${PINS[@]}" | sort -u)
check "the three nodes' routing maps hold the same element for web (app $APP_ID)" \
	[ "$(grep -c . <<<"$elements")" = 1 ] && [ "$elements" != none ]
seeds=$(python3 "$MAPS_PY" seed "${PINS[@]}" | tr '\n' ' ')
check "every node hashes with the fleet's seed from etcd ($(printf 0x%08x $((FLEET_HASH_SEED)))): $seeds" \
	[ "$seeds" = "$(printf '0x%08x 0x%08x 0x%08x ' $((FLEET_HASH_SEED)) \
		$((FLEET_HASH_SEED)) $((FLEET_HASH_SEED)))" ]

# pins_in I LO HI: node I's pins with a client port in LO..HI, sorted.
pins_in()
{
	fleet_node_pins "$P" "$1" | awk -v lo="$2" -v hi="$3" \
		'$1 >= lo && $1 <= hi' | sort -n
}

# --- 1. one 5-tuple, one backend, whichever node --------------------------
fleet_exec_client "$P" python3 "$CLIENT_PY" tuples "$VIP:$PORT" 40000 20 \
	0x04,0x08,0x0c >"$OUT/tuples" 2>&1
differ=$(awk '$2 != $3 || $3 != $4 || $2 ~ /ERR/' "$OUT/tuples")
check "20 client ports, each through node 1, 2, 3: the same backend each time ($(grep -c . <<<"$differ") differ)" \
	[ -z "$differ" ] || echo "$differ" | sed 's/^/#   /'
check "and all answered ($(grep -c ERR "$OUT/tuples") errors)" \
	[ "$(grep -c 'v1-b' "$OUT/tuples")" = 20 ]
used=$(awk '{ print $2 }' "$OUT/tuples" | sort -u | tr '\n' ' ')
check "the ports spread over more than one backend ($used)" \
	[ "$(wc -w <<<"$used")" -ge 2 ]
steered=0
for i in 1 2 3; do
	[ "$(pins_in $i 40000 40019 | grep -c .)" = 20 ] && steered=$((steered + 1))
done
check "each node pinned all 20 ports: every tuple really went through each ($steered of 3 nodes)" \
	[ $steered = 3 ]

fleet_exec_client "$P" python3 "$CLIENT_PY" tuples "$VIP:$PORT" 41000 60 0 \
	>"$OUT/ecmp" 2>&1
check "60 connections through the router's ECMP route, all answered ($(grep -c ERR "$OUT/ecmp") errors)" \
	[ "$(grep -c ' v1-b' "$OUT/ecmp")" = 60 ]
spread=
for i in 1 2 3; do
	spread+="$(pins_in $i 41000 41059 | grep -c .) "
done
check "spread over the nodes: $spread(each at least 8 of 60)" \
	python3 -c 'import sys; n = list(map(int, sys.argv[1:])); sys.exit(not (sum(n) == 60 and min(n) >= 8))' $spread
mismatch=0
for i in 1 2 3; do
	while read -r port addr; do
		want=$(awk -v p="$port" '$1 == p { print $2 }' "$OUT/ecmp")
		[ "v1-b$((${addr##*.} - 100))" = "$want" ] || mismatch=$((mismatch + 1))
	done < <(pins_in $i 41000 41059)
done
check "each ECMP connection's pin names the backend that answered ($mismatch do not)" \
	[ $mismatch = 0 ]

# load_start NAME VERSIONS: the load client's new connections, 50 a
# second, spread over the nodes by the router's ECMP (no keep-alive
# ones: back to back they would take a core of this two-core machine;
# the held connections are the keep-alive ones).
load_start()
{
	# ip netns exec itself, not a function: $! must be the process
	# (ip execs timeout, which passes SIGTERM on to the load client).
	ip netns exec "$(fleet_ns_client "$P")" timeout 120 "$LOADCLIENT" \
		--target "$VIP:$PORT" \
		--keepalive 0 --new-rate 50 --duration 100 --timeout-ms 8000 \
		--expect-versions "$2" --json "$OUT/$1.json" 2>"$OUT/$1.err" &
	load_pid=$!
}

# load_stop NAME: end the load client; check what it saw.
load_stop()
{
	local ok failed errs reasons

	kill -TERM $load_pid 2>/dev/null
	wait $load_pid
	[ -s "$OUT/$1.json" ] || echo "# $1: no summary; $(tail -3 "$OUT/$1.err")"
	read -r ok failed errs reasons < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["requests_ok"], d["requests_failed"],
      d["connect_errors"] + d["resets"] + d["io_errors"],
      json.dumps(d["failed_by_reason"], separators=(",", ":")))' "$OUT/$1.json")
	check "$1: load over the nodes failed no request ($ok ok, $failed failed: $reasons)" \
		[ "${failed:-x}" = 0 ]
	check "$1: and had no connect error, reset or io error ($errs)" \
		[ "${errs:-x}" = 0 ]
	check "$1: load ran ($ok requests ok, at least 100)" [ "${ok:-0}" -ge 100 ]
}

# --- 1b. swaps on node 1 reach every node's maps, under load --------------
swap_cmd=(env "SLOTLB_SOCKET=$(ctl_socket "$(fleet_node "$P" 1)")" timeout 30
	"$CTL_CLI" slot swap web --slot staging)
load_start load-swaps v1-b1,v1-b2,v1-b3,v2-b4
t0=$(now_ms)
python3 "$MAPS_PY" swaps "$SWAPS" "$APP_ID" 10 "${PINS[@]}" -- \
	"${swap_cmd[@]}" >"$OUT/swaps" 2>&1
swaps_rc=$?
swaps_ms=$(($(now_ms) - t0))
summary=$(grep '^summary' "$OUT/swaps")
check "$SWAPS swaps issued on node 1 each flipped node 1, 2 and 3's routing maps within 10 s ($((swaps_ms / 1000)) s; ${summary#summary: })" \
	[ $swaps_rc = 0 ] || grep -v '^summary\|all' "$OUT/swaps" | sed 's/^/#   /'
sleep 1
load_stop load-swaps
load_spread=
for i in 1 2 3; do
	load_spread+="$(fleet_node_pins "$P" $i | awk '$1 >= 50000' | grep -c .) "
done
check "the load went through every node (its connections pinned per node: $load_spread)" \
	eval '[ "$(wc -w <<<"$load_spread")" = 3 ] && ! grep -qw 0 <<<"$load_spread"'
elements=$(python3 "$MAPS_PY" routing "$APP_ID" "${PINS[@]}" | sort -u)
check "after the swaps, the three nodes' routing elements are the same" \
	[ "$(grep -c . <<<"$elements")" = 1 ]
check "web answers v1 again ($SWAPS swaps, an even number)" eval \
	"fleet_exec_client $P python3 $CLIENT_PY tuples $VIP:$PORT 44800 3 0x04,0x08,0x0c |
	awk '\$2 !~ /^v1-b/ || \$3 !~ /^v1-b/ || \$4 !~ /^v1-b/ { bad = 1 } END { exit bad }'"

# --- 2. a node dies under load --------------------------------------------
DL_SUM=$("$LAB_HTTPD" --gen-body $DL | sha256sum | cut -d' ' -f1)

# phase NAME SPORT SWAP VERSIONS: hold connections, (swap,) kill the
# live node with most of them, check they all went on.
phase()
{
	local name=$1 sport=$2 swap=$3 versions=$4
	local dir=$OUT/$name i best=0 victim=0 n ka dl t0 t1 ms fwd0 fwd1 lo hi

	mkdir -p "$dir"
	# where the router's BIRD log stands: a failure prints what its
	# sessions did during the phase (a BFD false alarm under load
	# withdraws a live node too)
	local birdlog birdfrom
	birdlog=$(fleet_dir "$P")/bird-router.log
	birdfrom=$(($(wc -l <"$birdlog") + 1))
	load_start "load-$name" "$versions"
	fleet_exec_client "$P" timeout 150 python3 "$CLIENT_PY" hold "$VIP:$PORT" \
		"$sport" $HOLD "$dir" $DL "$DL_SUM" >"$dir/hold" 2>&1 &
	local hold_pid=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$dir/ready" ] && break
		sleep 0.05
	done
	echo "# $name: $(date +%T) held"
	need "$name: $((2 * HOLD)) connections held (keep-alive answered, downloads at 64 KiB)" \
		[ -s "$dir/ready" ]
	lo=$sport
	hi=$((sport + 2 * HOLD - 1))
	for i in 1 2 3; do
		fleet_node_alive "$P" $i || continue
		ka=$(pins_in $i $lo $((lo + HOLD - 1)) | grep -c .)
		dl=$(pins_in $i $((lo + HOLD)) $hi | grep -c .)
		echo "# $name: node$i holds $ka keep-alive, $dl downloads"
		n=$((ka < dl ? ka : dl))
		if [ $n -gt $best ]; then
			best=$n
			victim=$i
		fi
	done
	need "$name: a live node holds keep-alive connections and downloads (node$victim)" \
		[ $victim -gt 0 ]
	if [ "$swap" = swap ]; then
		need "$name: swap on one live node (the other follows through etcd): v2 (b4) into production" \
			eval "fleet_configure $P slot swap web --slot staging >/dev/null"
		check "$name: new connections get v2-b4 after the swap" eval \
			"fleet_exec_client $P python3 $CLIENT_PY tuples $VIP:$PORT 44900 3 0 |
			awk '\$2 != \"v2-b4\" { bad = 1 } END { exit bad }'"
	fi
	echo "# $name: $(date +%T) killing node$victim"
	fwd0=$(fleet_agent_count "$P" 4 forward_second)
	# From the link's going down, the last step of the death, to the
	# route without the node.
	t0=$(now_ms)
	fleet_node_kill "$P" $victim
	t1=$(now_ms)
	if fleet_wait_gone "$P" "$VIP" "$(fleet_node_addr $victim)" 30; then
		ms=$(($(now_ms) - t1))
		WITHDRAW_MS+=("$ms")
		check "$name: node$victim killed (took $((t1 - t0)) ms); the router withdrew its next hop $ms ms after its link went down" true
	else
		check "$name: node$victim killed; the router withdrew its next hop within 30 s" false
	fi
	echo "# router: $(fleet_nexthops "$P" "$VIP" | tr '\n' ' ')"
	touch "$dir/go"
	echo "# $name: $(date +%T) go"
	wait $hold_pid
	sleep 1
	load_stop "load-$name"
	fwd1=$(fleet_agent_count "$P" 4 forward_second)
	ka=$(awk '$1 == "ka" && $3 ~ /^v1-b/ && $4 == $3' "$dir/hold" | grep -c .)
	dl=$(awk '$1 == "dl" && $3 ~ /^v1-b/ && $4 == '$DL' && $5 == "ok"' \
		"$dir/hold" | grep -c .)
	check "$name: all $HOLD keep-alive connections answered again, by the same backend ($ka)" \
		[ "$ka" = $HOLD ] || grep -v ' \(v1-b.\) \1$' "$dir/hold" | sed 's/^/#   /'
	check "$name: all $HOLD downloads finished, $DL bytes byte for byte ($dl)" \
		[ "$dl" = $HOLD ] || grep '^dl' "$dir/hold" | grep -v ' ok$' | sed 's/^/#   /'
	if [ "$ka" != $HOLD ] || [ "$dl" != $HOLD ]; then
		echo "# router BIRD during $name (node$victim killed):"
		tail -n +"$birdfrom" "$birdlog" |
			grep -iE 'state changed|bfd|session|error' | tail -40 |
			sed 's/^/#   /'
	fi
	if [ "$swap" = swap ]; then
		check "$name: b4's agent sent the moved connections' packets on to their v1 backend ($((fwd1 - fwd0)) packets)" \
			[ $((fwd1 - fwd0)) -gt 0 ]
	fi
}

phase no-swap 42000 no-swap v1-b1,v1-b2,v1-b3
phase swap 43000 swap v1-b1,v1-b2,v1-b3,v2-b4
echo "figures: $SWAPS swaps on node 1 with etcd ($FLEET_ETCD_MEMBERS members): ${summary#summary: }"
echo "figures: route withdrawal after a node's death: ${WITHDRAW_MS[*]} ms (BFD ${FLEET_BFD_MS} ms x ${FLEET_BFD_MULT}); ECMP spread $spread"
[ "$failures" -eq 0 ]
