#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The fleet lab: a client, a router, three balancer nodes and the
# backends, all in network namespaces of the lab's own (nothing touches
# the machine's interfaces, no namespace has a route out). Each node runs
# its own slotlbd (own state dir, pin root and socket) with slotlb's XDP
# program on its LAN link, and its own BIRD, which announces the
# endpoint addresses (/32) over BGP to the router's BIRD; the router
# installs them as one ECMP route hashed on the L4 ports. The nodes
# share their state through etcd (fleet_etcd.sh: its own namespace, on a
# management network of the nodes only): a configuration operation is
# taken by one node, the others apply it from etcd's log. The backends
# run the lab httpd behind `slotlb backend-agent` (direct server return:
# their replies go to the router, never through a node). Sourced by the
# fleet tests (fleet_* functions, after tools/lab/lab.sh and
# tools/lab/controller.sh) and usable by hand:
#
#   tools/fleet/fleet.sh up [--prefix P] [--backends N]
#   tools/fleet/fleet.sh down [--prefix P]
#   tools/fleet/fleet.sh status [--prefix P]
#
# Topology, addresses and the BGP setup: docs/fleet.md.

FLEET_NODES=3
FLEET_ROUTER_LAN=198.19.0.1
FLEET_ROUTER_AS=65000
FLEET_NODE_AS=65001
# The LAN carries the tunnel: client packets of up to 1500 bytes plus
# the 52 bytes of GUE (docs/dsr.md, MTU). The client's link stays 1500.
FLEET_LAN_MTU=1600
# BGP hold and keepalive (s; 3 is BGP's least hold time) and BFD (ms,
# detection after FLEET_BFD_MULT intervals): a dead node's route goes
# when BFD or, without BFD, the hold timer says so.
FLEET_HOLD=${FLEET_HOLD:-3}
FLEET_KEEPALIVE=${FLEET_KEEPALIVE:-1}
FLEET_BFD_MS=${FLEET_BFD_MS:-100}
FLEET_BFD_MULT=${FLEET_BFD_MULT:-5}
# The fleet's Maglev hash seed, put in etcd before the nodes start:
# nodes choose alike only with the same seed (docs/datapath.md, Hash
# seed); each node's slotlbd takes it from the store.
FLEET_HASH_SEED=${FLEET_HASH_SEED:-0x5107f1ee}
FLEET_BIRD=${FLEET_BIRD:-bird}
FLEET_BIRDC=${FLEET_BIRDC:-birdc}
# shellcheck source=tools/fleet/fleet_etcd.sh
. "$(dirname "${BASH_SOURCE[0]}")/fleet_etcd.sh"

fleet_ns_client()
{
	lab_ns_client "$1"
}

fleet_ns_router()
{
	lab_ns_router "$1"
}

fleet_ns_backend()
{
	lab_ns_backend "$1" "$2"
}

# fleet_node P I: the controller prefix of node I. Node I is a lab of
# its own to tools/lab/controller.sh (ctl_start, ctl_cli, ctl_pin_root,
# ctl_down take it), whose LB namespace, P<I>n-lb, is the node.
fleet_node()
{
	echo "${1}n$2"
}

fleet_ns_node()
{
	lab_ns_lb "$(fleet_node "$1" "$2")"
}

fleet_node_addr()
{
	echo "198.19.0.$((10 + $1))"
}

fleet_backend_addr()
{
	echo "198.19.0.$((100 + $1))"
}

fleet_dir()
{
	echo "$(lab_state_dir "$1")/fleet"
}

fleet_exec_client()
{
	local p=$1
	shift
	ip netns exec "$(fleet_ns_client "$p")" "$@"
}

fleet_exec_router()
{
	local p=$1
	shift
	ip netns exec "$(fleet_ns_router "$p")" "$@"
}

fleet_exec_node()
{
	local p=$1 i=$2
	shift 2
	ip netns exec "$(fleet_ns_node "$p" "$i")" "$@"
}

fleet_exec_backend()
{
	local p=$1 i=$2
	shift 2
	ip netns exec "$(fleet_ns_backend "$p" "$i")" "$@"
}

# fleet_lan_port P NS NAME DEV ADDR: a veth from the router's bridge
# (port NAME, with an XDP_PASS program so frames a host's XDP sends
# back out are delivered) to DEV in NS, addressed ADDR/24 on the LAN.
fleet_lan_port()
{
	local r ns=$2 name=$3 dev=$4 addr=$5

	r=$(fleet_ns_router "$1")
	ip -n "$r" link add "$name" mtu $FLEET_LAN_MTU type veth peer name \
		"$dev" netns "$ns" mtu $FLEET_LAN_MTU || return 1
	ip -n "$r" link set "$name" master br0 up || return 1
	ip -n "$r" link set dev "$name" xdpdrv obj "$LAB_XDP_PASS" sec xdp ||
		return 1
	ip -n "$ns" addr add "$addr/24" dev "$dev" &&
		ip -n "$ns" link set "$dev" up
}

fleet_up_unchecked()
{
	local p=$1 n=$2 c r ns i

	c=$(fleet_ns_client "$p")
	r=$(fleet_ns_router "$p")
	mkdir -p "$(fleet_dir "$p")" || return 1
	lab_add_ns "$c" && lab_add_ns "$r" || return 1
	# ECMP on the L4 5-tuple, so one client's connections spread over
	# the nodes. Policy 3 (custom) with the 5-tuple's fields, not 1:
	# policy 1 takes skb->hash when it is an L4 hash, which here is the
	# client socket's random txhash carried over by the veth (and
	# changed by TCP on a timeout); a router on a wire has only the
	# headers, which policy 3 hashes: src/dst address, proto, ports.
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.fib_multipath_hash_policy=3 \
		net.ipv4.fib_multipath_hash_fields=0x0037 \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
	ip -n "$c" link add c0 type veth peer name r0 netns "$r" &&
		lab_wire_like "$c" c0 || return 1
	ip -n "$r" -batch - <<-EOF || return 1
		addr add 198.18.0.1/24 dev r0
		link set r0 up
		link add br0 mtu $FLEET_LAN_MTU type bridge stp_state 0 forward_delay 0
		addr add $FLEET_ROUTER_LAN/24 dev br0
		link set br0 up
	EOF
	# The client reaches the endpoints (and, for a look, the LAN)
	# through the router; no default route.
	ip -n "$c" -batch - <<-EOF || return 1
		addr add 198.18.0.2/24 dev c0
		link set c0 up
		route add 198.18.100.0/24 via 198.18.0.1
		route add 198.19.0.0/24 via 198.18.0.1
	EOF
	# Explicit client ports (fleet_client.py) are 40000-49999; the
	# kernel's own choices stay above.
	ip netns exec "$c" sysctl -qw net.ipv4.ip_local_port_range="50000 60999" ||
		return 1
	for ((i = 1; i <= FLEET_NODES; i++)); do
		# Steering, for tests that send one 5-tuple through each node:
		# a client packet with TOS 4*I goes to node I whatever ECMP says.
		ip -n "$r" route add 198.18.100.0/24 via "$(fleet_node_addr "$i")" \
			table $((100 + i)) &&
			ip -n "$r" rule add iif r0 tos "$(printf 0x%02x $((4 * i)))" \
				table $((100 + i)) pref $((100 + i)) || return 1
		ns=$(fleet_ns_node "$p" "$i")
		lab_add_ns "$ns" || return 1
		# forwarding: bpf_fib_lookup routes only for a forwarding
		# interface, and the kernel sends a tunnel packet whose next
		# hop is not resolved yet. No route leads off the LAN.
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
		fleet_lan_port "$p" "$ns" "n$i" up0 "$(fleet_node_addr "$i")" ||
			return 1
	done
	fleet_etcd_net "$p" || return 1
	for ((i = 1; i <= n; i++)); do
		ns=$(fleet_ns_backend "$p" "$i")
		lab_add_ns "$ns" || return 1
		fleet_lan_port "$p" "$ns" "b$i" eth0 "$(fleet_backend_addr "$i")" &&
			lab_wire_like "$ns" eth0 &&
			ip -n "$ns" route add default via $FLEET_ROUTER_LAN ||
			return 1
	done
}

# fleet_up P N: the namespaces, links and addresses of fleet lab P with
# N backends (no daemon yet). 77 when this machine cannot host a lab.
fleet_up()
{
	local p=$1 n=${2:-4}

	if ! [[ "$p" =~ ^[A-Za-z0-9_]{1,20}$ ]]; then
		lab_err "prefix: '$p' must be 1-20 of [A-Za-z0-9_]"
		return 1
	fi
	if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 99 ]; then
		lab_err "backends: '$n' is not in 1..99"
		return 1
	fi
	lab_check_caps || return $?
	if ! command -v "$FLEET_BIRD" >/dev/null; then
		echo "SKIP: the fleet lab needs BIRD (bird2; tools/deps.sh)" >&2
		return 77
	fi
	if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
		echo "SKIP: the fleet lab needs etcd (etcd-server, etcd-client; tools/deps.sh)" >&2
		return 77
	fi
	if [ -n "$(lab_namespaces "$p")" ]; then
		lab_err "$p: lab already up (fleet.sh down --prefix $p)"
		return 1
	fi
	if ! fleet_up_unchecked "$p" "$n"; then
		lab_err "$p: fleet setup failed, tearing down"
		fleet_down "$p"
		return 1
	fi
}

# --- BGP ------------------------------------------------------------------

# fleet_bird_head ID IFNAME: what every BIRD of the lab starts with:
# router id, a log of session changes on stderr, and BFD on IFNAME.
fleet_bird_head()
{
	cat <<-EOF
		router id $1;
		log stderr all;
		debug protocols { states, events };
		protocol device { scan time 10; }
		protocol bfd {
			interface "$2" {
				min rx interval $FLEET_BFD_MS ms;
				min tx interval $FLEET_BFD_MS ms;
				multiplier $FLEET_BFD_MULT;
			};
		}
	EOF
}

# fleet_bird_timers: the timers of every BGP session of the lab, both
# ends alike (quick reconnects, failure by BFD).
fleet_bird_timers()
{
	cat <<-EOF
		hold time $FLEET_HOLD;
		keepalive time $FLEET_KEEPALIVE;
		connect delay time 1;
		connect retry time 1;
		error wait time 1, 5;
		graceful restart off;
		bfd on;
	EOF
}

# fleet_bird_conf_router P: the router's BIRD: a session with each node,
# their endpoint routes merged into one multipath route in the kernel.
fleet_bird_conf_router()
{
	local i

	fleet_bird_head "$FLEET_ROUTER_LAN" br0
	cat <<-EOF
		protocol kernel {
			ipv4 { import none; export all; };
			merge paths yes;
		}
		template bgp node {
			local $FLEET_ROUTER_LAN as $FLEET_ROUTER_AS;
		$(fleet_bird_timers)
			ipv4 {
				import where net ~ [ 198.18.100.0/24{32,32} ];
				export none;
			};
		}
	EOF
	for ((i = 1; i <= FLEET_NODES; i++)); do
		echo "protocol bgp node$i from node { neighbor $(fleet_node_addr "$i") as $FLEET_NODE_AS; }"
	done
}

# fleet_bird_conf_node I ENDPOINT...: node I's BIRD announces each
# endpoint address as a /32 with itself as next hop. The routes are for
# BGP only: no kernel protocol, the node's own routing is untouched.
fleet_bird_conf_node()
{
	local i=$1 e

	shift
	fleet_bird_head "$(fleet_node_addr "$i")" up0
	echo "protocol static endpoints {"
	echo "	ipv4;"
	for e in "$@"; do
		echo "	route $e/32 blackhole;"
	done
	cat <<-EOF
		}
		protocol bgp uplink {
			local $(fleet_node_addr "$i") as $FLEET_NODE_AS;
			neighbor $FLEET_ROUTER_LAN as $FLEET_ROUTER_AS;
		$(fleet_bird_timers)
			ipv4 {
				import none;
				export where proto = "endpoints";
				next hop self;
			};
		}
	EOF
}

# fleet_bird_start P WHO NS: run BIRD in NS with $dir/bird-WHO.conf.
fleet_bird_start()
{
	local p=$1 who=$2 ns=$3 dir pid try

	dir=$(fleet_dir "$p")
	"$FLEET_BIRD" -p -c "$dir/bird-$who.conf" ||
		{ lab_err "bird $who: bad configuration"; return 1; }
	# ip netns exec execs bird, so $! is bird itself.
	ip netns exec "$ns" "$FLEET_BIRD" -f -c "$dir/bird-$who.conf" \
		-s "$dir/bird-$who.ctl" -P "$dir/bird-$who.pid" \
		</dev/null >"$dir/bird-$who.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/bird-$who.pid.lab"
	for ((try = 0; try < 50; try++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			lab_err "bird $who: exited at start: $(tail -3 "$dir/bird-$who.log")"
			return 1
		fi
		[ -S "$dir/bird-$who.ctl" ] && return 0
		sleep 0.1
	done
	lab_err "bird $who: no control socket after 5 s"
	return 1
}

# fleet_birdc P WHO CMD...: BIRD's client against router or nodeI.
fleet_birdc()
{
	local p=$1 who=$2

	shift 2
	timeout 10 "$FLEET_BIRDC" -s "$(fleet_dir "$p")/bird-$who.ctl" "$@"
}

# fleet_bgp_router P: the router's BIRD.
fleet_bgp_router()
{
	fleet_bird_conf_router >"$(fleet_dir "$1")/bird-router.conf" &&
		fleet_bird_start "$1" router "$(fleet_ns_router "$1")"
}

# fleet_bgp_node P I ENDPOINT...: node I's BIRD, announcing the endpoints.
fleet_bgp_node()
{
	local p=$1 i=$2

	shift 2
	fleet_bird_conf_node "$i" "$@" >"$(fleet_dir "$p")/bird-node$i.conf" &&
		fleet_bird_start "$p" "node$i" "$(fleet_ns_node "$p" "$i")"
}

# fleet_nexthops P ENDPOINT: the router's next hops for ENDPOINT, one
# node address a line, sorted (none when it has no route).
fleet_nexthops()
{
	ip -n "$(fleet_ns_router "$1")" -j route show "$2/32" proto bird |
		python3 -c '
import json, sys
for r in json.load(sys.stdin):
    hops = r.get("nexthops") or [r]
    print("\n".join(sorted(h["gateway"] for h in hops if "gateway" in h)))'
}

# fleet_has_nexthop P ENDPOINT ADDR: is ADDR a next hop of the router's
# route to ENDPOINT? (no python: fleet_wait_gone measures with it)
fleet_has_nexthop()
{
	ip -n "$(fleet_ns_router "$1")" route show "$2/32" proto bird |
		grep -q "via $3 "
}

# fleet_wait_gone P ENDPOINT ADDR [SECONDS]: wait until ADDR is no next
# hop of ENDPOINT any more.
fleet_wait_gone()
{
	local p=$1 e=$2 a=$3 secs=${4:-30} end

	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -le $end ]; do
		fleet_has_nexthop "$p" "$e" "$a" || return 0
		sleep 0.01
	done
	return 1
}

# fleet_wait_nexthops P ENDPOINT COUNT [SECONDS]: wait until the
# router's route to ENDPOINT has COUNT next hops.
fleet_wait_nexthops()
{
	local p=$1 e=$2 want=$3 secs=${4:-30} end

	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -le $end ]; do
		[ "$(fleet_nexthops "$p" "$e" | grep -c .)" = "$want" ] &&
			return 0
		sleep 0.02
	done
	return 1
}

# --- nodes ----------------------------------------------------------------

# fleet_node_start P I: node I's slotlbd on the fleet's store (node name
# nodeI; it takes the fleet's state and hash seed from etcd) and the XDP
# program on its LAN link (public role: one-armed, the tunnel packet
# leaves by the link the client's came in, XDP_TX).
fleet_node_start()
{
	local np

	np=$(fleet_node "$1" "$2")
	ctl_start "$np" --store "$(fleet_etcd_url)" --node-name "node$2" ||
		return 1
	ctl_cli "$np" interface attach up0 --role public >/dev/null
}

# fleet_node_seed P I [SEED]: set node I's Maglev hash seed, or print it
# (by hand: a node with a seed of its own breaks the fleet's choices).
fleet_node_seed()
{
	local np seed=()

	np=$(fleet_node "$1" "$2")
	[ -n "${3:-}" ] && seed=("$3")
	# dpctl loads the program to reach the maps: 7-22 s at load 20.
	ctl_exec_lb "$np" timeout "${DPCTL_TIMEOUT:-60}" "$DPCTL" \
		--pin-root "$(ctl_pin_root "$np")" seed "${seed[@]}"
}

# fleet_node_kill P I: node I dies: its slotlbd killed (-9), its XDP
# program detached (its pinned maps stay in bpffs, unused), its link
# down, which the router's BFD notices.
fleet_node_kill()
{
	local p=$1 i=$2 np ns

	np=$(fleet_node "$p" "$i")
	ns=$(fleet_ns_node "$p" "$i")
	ctl_stop "$np" KILL
	ip -n "$ns" link set dev up0 xdp off 2>/dev/null ||
		ip -n "$ns" link set dev up0 xdpgeneric off 2>/dev/null
	ip -n "$ns" link set dev up0 down
}

# fleet_node_alive P I: node I's slotlbd runs (fleet_node_kill ends it).
fleet_node_alive()
{
	local pid

	pid=$(ctl_pid "$(fleet_node "$1" "$2")")
	[ -n "$pid" ] && lab_pid_alive "$pid"
}

# fleet_cli P I ARGS...: the slotlb CLI of node I, bounded in time.
fleet_cli()
{
	local np

	np=$(fleet_node "$1" "$2")
	shift 2
	SLOTLB_SOCKET=$(ctl_socket "$np") timeout 30 "$CTL_CLI" "$@"
}

# fleet_backend_start P I LABEL ENDPOINT...: backend I's decapsulation
# agent for the endpoints and the lab httpd on the endpoints' port,
# answering with LABEL (e.g. v1-b1: which backend answered). Its idle
# timeout is 120 s: a test holds connections across a node's death.
fleet_backend_start()
{
	local p=$1 i=$2 label=$3 e args=() ns state pid try

	shift 3
	for e in "$@"; do
		args+=(--endpoint "$e")
	done
	ns=$(fleet_ns_backend "$p" "$i")
	state=$(lab_state_dir "$p")
	ip netns exec "$ns" "$CTL_CLI" backend-agent attach eth0 "${args[@]}" \
		--force >"$state/agent-b$i.out" 2>&1 || {
		lab_err "agent b$i: $(tail -2 "$state/agent-b$i.out")"
		return 1
	}
	ip netns exec "$ns" "$LAB_HTTPD" --listen "0.0.0.0:$LAB_HTTPD_PORT" \
		--version "$label" --idle-timeout 120 --quiet </dev/null >"$state/httpd-b$i.log" 2>&1 &
	pid=$!
	echo "$pid" >"$state/httpd-b$i.pid"
	for ((try = 0; try < 50; try++)); do
		lab_pid_alive "$pid" || {
			lab_err "httpd b$i: exited at start"
			return 1
		}
		ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$(fleet_backend_addr "$i")/$LAB_HTTPD_PORT" \
			2>/dev/null && return 0
		sleep 0.1
	done
	lab_err "httpd b$i: not accepting after 5 s"
	return 1
}

# fleet_agent_count P I NAME: backend I's agent counter NAME.
fleet_agent_count()
{
	fleet_exec_backend "$1" "$2" "$CTL_CLI" -o json backend-agent status \
		eth0 | python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"
}

# fleet_node_pins P I: node I's DSR pins, "CLIENT_PORT BACKEND_ADDR" a
# line (struct slotlb_flow_key, struct slotlb_dsr_flow). dsr_flows is
# not pinned in bpffs: found through the program on up0.
fleet_node_pins()
{
	fleet_exec_node "$1" "$2" python3 -c '
import json, socket, subprocess
def run(*a):
    return json.loads(subprocess.check_output(a))
prog = run("ip", "-j", "link", "show", "up0")[0].get("xdp", {}).get("prog", {})
for m in run("bpftool", "-j", "prog", "show", "id", str(prog["id"]))["map_ids"] if prog else []:
    if run("bpftool", "-j", "map", "show", "id", str(m))["name"] != "dsr_flows":
        continue
    for e in run("bpftool", "-j", "map", "dump", "id", str(m)):
        k = bytes(int(b, 16) for b in e["key"])
        v = bytes(int(b, 16) for b in e["value"])
        print(int.from_bytes(k[32:34], "big"), socket.inet_ntoa(v[0:4]))
' 2>/dev/null
}

# --- the whole fleet --------------------------------------------------------

# fleet_start P ENDPOINT...: etcd, the router's BIRD, then the nodes side by
# side (the program's load is most of a node's start): each one's
# slotlbd and XDP program, then its BIRD, so a node announces the
# endpoints once it can forward. Returns once the router has a next hop
# through every node.
fleet_start()
{
	local p=$1 i e pids=() rc=0

	shift
	fleet_etcd_start "$p" || return 1
	fleet_bgp_router "$p" || return 1
	for ((i = 1; i <= FLEET_NODES; i++)); do
		(fleet_node_start "$p" "$i" && fleet_bgp_node "$p" "$i" "$@") &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=1
	done
	[ $rc -eq 0 ] || return 1
	for e in "$@"; do
		fleet_wait_nexthops "$p" "$e" $FLEET_NODES 30 || {
			lab_err "router: $e has next hops $(fleet_nexthops "$p" "$e" | tr '\n' ' ')after 30 s"
			return 1
		}
	done
}

# fleet_down P: daemons, BIRDs, etcd, namespaces and pins of fleet lab P.
fleet_down()
{
	local p=$1 i

	for ((i = 1; i <= FLEET_NODES; i++)); do
		ctl_down "$(fleet_node "$p" "$i")"
	done
	fleet_etcd_down "$p"
	lab_down "$p"
}

fleet_cleanup_all()
{
	local p

	for p in "${LAB_CLEANUP_PREFIXES[@]}"; do
		fleet_down "$p" || lab_err "$p: teardown incomplete"
	done
	rm -rf "${LAB_CLEANUP_DIRS[@]}"
}

# fleet_trap_cleanup P: tear fleet lab P down on any exit.
fleet_trap_cleanup()
{
	LAB_CLEANUP_PREFIXES+=("$1")
	trap fleet_cleanup_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

fleet_status()
{
	local p=$1 i

	lab_status "$p"
	for ((i = 1; i <= FLEET_NODES; i++)); do
		lab_status "$(fleet_node "$p" "$i")"
	done
	[ -S "$(fleet_dir "$p")/bird-router.ctl" ] &&
		fleet_birdc "$p" router show protocols
	ip -n "$(fleet_ns_router "$p")" route show proto bird 2>/dev/null
	fleet_etcdctl "$p" endpoint status -w table 2>/dev/null
	fleet_node_alive "$p" 1 && fleet_cli "$p" 1 status | grep -E '^(fleet|this node|node) '
}

# fleet_withdraw_times P ROUNDS: on a lab that is up, take node
# (round % 3 + 1)'s link down ROUNDS times, each time measuring from the
# link's going down to the router's route to the endpoint without it,
# then bring it back and wait for its route. Prints each time (ms), then
# "p50 MS p90 MS max MS".
fleet_withdraw_times()
{
	local p=$1 rounds=$2 vip k i ns t0 ms times=()

	vip=$(lab_vip 1 4)
	for ((k = 0; k < rounds; k++)); do
		i=$((k % FLEET_NODES + 1))
		ns=$(fleet_ns_node "$p" "$i")
		fleet_wait_nexthops "$p" "$vip" $FLEET_NODES 60 || {
			lab_err "round $k: the route has not three next hops"
			return 1
		}
		t0=$(date +%s%N)
		ip -n "$ns" link set dev up0 down || return 1
		fleet_wait_gone "$p" "$vip" "$(fleet_node_addr "$i")" 30 || {
			lab_err "round $k: node$i still a next hop after 30 s"
			return 1
		}
		ms=$((($(date +%s%N) - t0) / 1000000))
		times+=("$ms")
		echo "round $k node$i: $ms ms"
		ip -n "$ns" link set dev up0 up || return 1
	done
	fleet_wait_nexthops "$p" "$vip" $FLEET_NODES 60
	printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 }
		END { printf "p50 %d p90 %d max %d ms over %d rounds\n",
			t[int((NR + 1) / 2)], t[int((NR * 9 + 9) / 10)], t[NR], NR }'
}

fleet_usage()
{
	cat <<EOF
Usage: fleet.sh up [--prefix P] [--backends N]
       fleet.sh down [--prefix P]
       fleet.sh status [--prefix P]
       fleet.sh withdraw-times [--prefix P] [--rounds N]
P defaults to fleet, N to 4. 'up' builds the lab, starts backend I's
agent and httpd (v1-bI for I < N, v2-bN), etcd ($FLEET_ETCD_MEMBERS member(s):
FLEET_ETCD_MEMBERS), the nodes' slotlbd on it and their BIRD, and
deploys app web (dsr, $(lab_vip 1 4):$LAB_HTTPD_PORT) once, on node 1
(the others follow through etcd): v1 (b1..bN-1) to production, v2 (bN)
to staging. 'withdraw-times'
measures, on a lab that is up, how long the router keeps a node whose
link went down (N rounds, default 10). See docs/fleet.md.
EOF
}

# fleet_demo_up P N: the lab of `fleet.sh up`.
fleet_demo_up()
{
	local p=$1 n=$2 vip vip2 i be=()

	vip=$(lab_vip 1 4)
	vip2=$(lab_vip 2 4)
	[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] || {
		lab_err "backends: '$n': at least 2"
		return 1
	}
	fleet_up "$p" "$n" || return $?
	for ((i = 1; i <= n; i++)); do
		if [ $i -lt "$n" ]; then
			fleet_backend_start "$p" $i "v1-b$i" "$vip" "$vip2" ||
				return 1
			be+=(--backend "$(fleet_backend_addr $i):$LAB_HTTPD_PORT")
		else
			fleet_backend_start "$p" $i "v2-b$i" "$vip" "$vip2" ||
				return 1
		fi
	done
	fleet_start "$p" "$vip" "$vip2" || return 1
	fleet_configure "$p" app create web --mode dsr \
		--endpoint "$vip:$LAB_HTTPD_PORT" >/dev/null &&
		fleet_configure "$p" slot create web --slot staging \
			--endpoint "$vip2:$LAB_HTTPD_PORT" >/dev/null &&
		fleet_configure "$p" deploy web --slot production \
			--version v1 "${be[@]}" >/dev/null &&
		fleet_configure "$p" deploy web --slot staging --version v2 \
			--backend "$(fleet_backend_addr "$n"):$LAB_HTTPD_PORT" \
			>/dev/null
}

fleet_main()
{
	local cmd=${1:-} p=fleet n=4 rounds=10

	[ $# -gt 0 ] && shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--prefix) p=${2:-} ;;
		--backends) n=${2:-} ;;
		--rounds) rounds=${2:-} ;;
		*)
			fleet_usage >&2
			return 1
			;;
		esac
		shift 2 || {
			fleet_usage >&2
			return 1
		}
	done
	case "$cmd" in
	up)
		if ! fleet_demo_up "$p" "$n"; then
			fleet_down "$p"
			return 1
		fi
		# By hand the lab outlives this script.
		disown -a
		fleet_status "$p"
		;;
	down)
		fleet_down "$p"
		;;
	status)
		fleet_status "$p"
		;;
	withdraw-times)
		[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] &&
			[ "$rounds" -le 1000 ] || {
			lab_err "rounds: '$rounds' is not in 1..1000"
			return 1
		}
		fleet_withdraw_times "$p" "$rounds"
		;;
	-h | --help | help)
		fleet_usage
		;;
	*)
		fleet_usage >&2
		return 1
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	FLEET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	# shellcheck source=tools/lab/lab.sh
	. "$FLEET_ROOT/tools/lab/lab.sh"
	# shellcheck source=tools/lab/controller.sh
	. "$FLEET_ROOT/tools/lab/controller.sh"
	DPCTL=${DPCTL:-$LAB_BUILD/tools/dpctl}
	fleet_main "$@"
	exit $?
fi
