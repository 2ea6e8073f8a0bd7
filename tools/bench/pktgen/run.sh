#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Forwarding rate on veth: slotlb against a bare XDP redirect (no lookups),
# same lab, same generator, interleaved runs. Prints Mpps per system and
# case (median, min, max) and the ratio slotlb / bare (target >= 0.8).
#
#   tools/bench/pktgen/run.sh [RUNS [SECONDS]]      (root; default 5 x 2 s)
#
# FLOW_CAPACITY=N sets slotlb's flow capacity (default: production's
# 1,048,576), to see what the size of the tables costs.
# FLOWS=N sets how many distinct flows the udp and tcp-established cases
# cycle through (default 65,536; 1..1,048,576), to see what the flow
# lookup's cache misses cost.
#
# Lab (three namespaces of our own, nothing in the root namespace):
#   P-gen: g0 --- l0 :P-lb: b0 --- s0 :P-be
# The generator (BPF_PROG_TEST_RUN, live frames) sends out of g0; the
# system under test runs in XDP on l0 and redirects to b0; the sink on s0
# counts and drops. Backends 10.20.0.11-20 are permanent neighbours on
# b0 with s0's MAC, so slotlb's bpf_fib_lookup succeeds for every one.
set -u
cd "$(dirname "$0")/../../.."

RUNS=${1:-5}
SECONDS_PER_RUN=${2:-2}
FLOWS=${FLOWS:-65536} # distinct 5-tuples of the udp and tcp-established cases
BUILD=${BUILD:-build}
PKTGEN=$BUILD/tools/bench/pktgen/pktgen
DPCTL=$BUILD/tools/dpctl
P=pg$$
NS_GEN=$P-gen NS_LB=$P-lb NS_BE=$P-be
PIN=/sys/fs/bpf/slotlb-bench-$P
OUT=$(mktemp -d)
VIP=192.0.2.10
BACKENDS=10

err()
{
	echo "Error: bench-pktgen: $*" >&2
	exit 1
}

cleanup()
{
	local ns

	for ns in "$NS_GEN" "$NS_LB" "$NS_BE"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN" "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" -eq 0 ] || err "needs root (namespaces, XDP)"
for b in "$PKTGEN" "$DPCTL"; do
	[ -x "$b" ] || err "$b missing: run make first"
done
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 5 && $RUNS -le 20 ]] ||
	err "RUNS must be 5..20"
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ && $SECONDS_PER_RUN -ge 1 &&
	$SECONDS_PER_RUN -le 10 ]] || err "SECONDS must be 1..10"
[[ $FLOWS =~ ^[0-9]+$ && $FLOWS -ge 1 && $FLOWS -le 1048576 ]] ||
	err "FLOWS must be 1..1048576 (got '$FLOWS')"

in_lb()
{
	# nsenter keeps the host mount namespace: the pins land in bpffs.
	nsenter --net="/run/netns/$NS_LB" "$@"
}

dpctl()
{
	in_lb timeout 30 "$DPCTL" --pin-root "$PIN" \
		${FLOW_CAPACITY:+--flow-capacity "$FLOW_CAPACITY"} "$@" \
		>/dev/null ||
		err "dpctl $*: failed"
}

mac_of()
{
	ip -n "$1" -br link show dev "$2" | awk '{print $3}'
}

lab_up()
{
	local i

	for ns in "$NS_GEN" "$NS_LB" "$NS_BE"; do
		ip netns add "$ns" || err "netns $ns"
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_GEN" link add g0 type veth peer name l0 netns "$NS_LB" &&
		ip -n "$NS_LB" link add b0 type veth peer name s0 \
			netns "$NS_BE" || err "veth"
	ip -n "$NS_GEN" link set g0 up
	ip -n "$NS_LB" link set l0 up
	ip -n "$NS_LB" link set b0 up
	ip -n "$NS_BE" link set s0 up
	ip -n "$NS_LB" addr add 10.10.0.1/24 dev l0
	ip -n "$NS_LB" addr add 10.20.0.1/24 dev b0
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.conf.all.forwarding=1
	SINK_MAC=$(mac_of "$NS_BE" s0)
	LB_MAC=$(mac_of "$NS_LB" l0)
	for ((i = 0; i < BACKENDS; i++)); do
		ip -n "$NS_LB" neigh add "10.20.0.$((11 + i))" \
			lladdr "$SINK_MAC" nud permanent dev b0 || err "neigh"
	done
	# The generator's sources (10.128.0.0/9) sit behind g0, so the
	# backends' answers that establish flows (prime) find a next hop.
	ip -n "$NS_GEN" addr add 10.10.0.2/24 dev g0
	ip -n "$NS_LB" neigh add 10.10.0.2 lladdr "$(mac_of "$NS_GEN" g0)" \
		nud permanent dev l0 || err "neigh"
	ip -n "$NS_LB" route add 10.128.0.0/9 via 10.10.0.2 dev l0 ||
		err "route"
	ip netns exec "$NS_BE" "$PKTGEN" sink attach s0 || err "sink attach"
}

# One app, production slot = one deployment of ten backends, a TCP and a
# UDP endpoint; production-default flow capacity (1,048,576 flows).
slotlb_program()
{
	local i ids=()

	dpctl attach --role public l0 --role backend b0 --force
	for ((i = 1; i <= BACKENDS; i++)); do
		dpctl backend set "$i" "10.20.0.$((10 + i)):8080"
		ids+=("$i")
	done
	dpctl deployment publish 1 v1 "${ids[@]}"
	dpctl routing set 0 1
	dpctl endpoint add "$VIP:80" --app 0 --slot 0 --id 1
	dpctl endpoint add "$VIP:80/udp" --app 0 --slot 0 --id 2
}

use_system()
{
	if [ "$1" = slotlb ]; then
		dpctl attach --role public l0 --force
	else
		ip netns exec "$NS_LB" "$PKTGEN" bare l0 b0 "$SINK_MAC" ||
			err "bare attach"
	fi
}

# prime syn|udp: establish the FLOWS flows the generator cycles through,
# through the attached program (BPF_PROG_TEST_RUN, untimed).
prime()
{
	in_lb timeout 120 "$PKTGEN" prime -f "$FLOWS" l0 b0 "$VIP:80" "$1" \
		>/dev/null || err "prime $1"
}

sink()
{
	ip netns exec "$NS_BE" "$PKTGEN" sink read s0 || err "sink read"
}

# gen KIND FLOWS BASE SECONDS: prints the generator's summary line.
gen()
{
	timeout 60 ip netns exec "$NS_GEN" "$PKTGEN" send -c 0 -f "$2" \
		-b "$3" -s "$4" g0 "$LB_MAC" "$VIP:80" "$1" ||
		err "generator failed"
}

# measure SYSTEM CASE RUN: one timed run; appends to $OUT/samples.
measure()
{
	local sys=$1 c=$2 run=$3 kind flows=$FLOWS base=0 b a line
	local sent secs got nat

	case $c in
	udp)
		kind=udp
		# every flow answered once by its backend: established
		[ "$sys" = slotlb ] && prime udp
		;;
	tcp-est)
		kind=ack
		# every flow's handshake first: established
		[ "$sys" = slotlb ] && prime syn
		;;
	tcp-new)
		# every frame a SYN of a flow never seen before
		kind=syn flows=0 base=$(((run + 1) * 400000000))
		;;
	esac
	b=$(sink)
	line=$(gen "$kind" "$flows" "$base" "$SECONDS_PER_RUN")
	sleep 0.2 # let the rings drain into the sink
	a=$(sink)
	sent=$(awk '{print $2}' <<<"$line")
	secs=$(awk '{print $4}' <<<"$line")
	got=$(($(awk '{print $1}' <<<"$a") - $(awk '{print $1}' <<<"$b")))
	nat=$(($(awk '{print $2}' <<<"$a") - $(awk '{print $2}' <<<"$b")))
	echo "$sys $c $run $sent $got $nat $secs" >>"$OUT/samples"
	printf '  run %d %-6s %-8s sent %9d  received %9d  %.3f Mpps\n' \
		"$run" "$sys" "$c" "$sent" "$got" \
		"$(awk -v g="$got" -v s="$secs" 'BEGIN{print g/s/1e6}')"
}

lab_up
slotlb_program
echo "bench-pktgen: $(nproc) CPUs, kernel $(uname -r), $RUNS runs x" \
	"${SECONDS_PER_RUN} s per system and case, 64-byte frames," \
	"flow capacity ${FLOW_CAPACITY:-1048576 (default)}, $FLOWS flows"
deadline=$((SECONDS + 170))
for ((run = 0; run < RUNS; run++)); do
	# alternate who goes first, so neither always inherits a warm cache
	if ((run % 2)); then order="bare slotlb"; else order="slotlb bare"; fi
	for sys in $order; do
		use_system "$sys"
		for c in udp tcp-est tcp-new; do
			((SECONDS < deadline)) || err "over the time budget"
			measure "$sys" "$c" "$run"
		done
	done
done
in_lb "$DPCTL" --pin-root "$PIN" stats >"$OUT/stats" 2>&1
FLOWS=$FLOWS python3 tools/bench/pktgen/report.py "$OUT/samples" "$OUT/stats"
