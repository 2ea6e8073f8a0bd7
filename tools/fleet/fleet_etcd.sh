#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The fleet lab's shared store (docs/fleet-store.md): etcd (Debian's
# etcd-server) in a namespace of its own, P-etcd, on a management
# network that only the balancer nodes join (a second link of each
# node, ec0; no route out, none to the client, router or backends):
#
#   Pn1-lb  ec0 198.51.100.11 --+
#   Pn2-lb  ec0 198.51.100.12 --+-- br0 (P-etcd): members 198.51.100.1..K
#   Pn3-lb  ec0 198.51.100.13 --+   client port 2379, peer port 2380
#
# FLEET_ETCD_MEMBERS members (3 by default, a real raft cluster, in the
# one namespace with an address each; 1 works too). Every node's
# slotlbd runs with --store etcd://<every member> and its own
# --node-name; the fleet's Maglev hash seed is put in etcd before any
# node starts, so every node takes it from there. Sourced by
# tools/fleet/fleet.sh; fleet_configure (one operation on one node, the
# others following through the log) is here too.

FLEET_ETCD_MEMBERS=${FLEET_ETCD_MEMBERS:-3}
FLEET_ETCD_NET=198.51.100

fleet_etcd_ns()
{
	echo "$1-etcd"
}

# fleet_etcd_addr K: member K's address.
fleet_etcd_addr()
{
	echo "$FLEET_ETCD_NET.$1"
}

# fleet_etcd_endpoints: the members' client URLs, comma-separated.
fleet_etcd_endpoints()
{
	local k out=

	for ((k = 1; k <= FLEET_ETCD_MEMBERS; k++)); do
		out+="${out:+,}http://$(fleet_etcd_addr $k):2379"
	done
	echo "$out"
}

# fleet_etcd_url: what every node's slotlbd gets as --store.
fleet_etcd_url()
{
	fleet_etcd_endpoints | sed 's,http://,,g; s,^,etcd://,'
}

# fleet_etcd_net P: the management network: P-etcd's bridge and each
# node's link to it. After the nodes' namespaces exist.
fleet_etcd_net()
{
	local p=$1 ns i k nns

	ns=$(fleet_etcd_ns "$p")
	lab_add_ns "$ns" || return 1
	ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$ns" link set br0 up || return 1
	for ((k = 1; k <= FLEET_ETCD_MEMBERS; k++)); do
		ip -n "$ns" addr add "$(fleet_etcd_addr $k)/24" dev br0 ||
			return 1
	done
	for ((i = 1; i <= FLEET_NODES; i++)); do
		nns=$(fleet_ns_node "$p" "$i")
		ip -n "$nns" link add ec0 type veth peer name "e$i" netns "$ns" &&
			ip -n "$ns" link set "e$i" master br0 up &&
			ip -n "$nns" addr add "$FLEET_ETCD_NET.$((10 + i))/24" dev ec0 &&
			ip -n "$nns" link set ec0 up || return 1
	done
}

# fleet_etcdctl P ARGS...: etcdctl against the members, from P-etcd.
fleet_etcdctl()
{
	local p=$1

	shift
	ETCDCTL_API=3 ip netns exec "$(fleet_etcd_ns "$p")" timeout 10 \
		etcdctl --endpoints "$(fleet_etcd_endpoints)" "$@"
}

# fleet_etcd_start P: the members (again, on their data dirs, after a
# stop); waits until every one answers, then puts the fleet's hash seed
# (decimal, as slotlbd reads it) unless the fleet has one.
fleet_etcd_start()
{
	local p=$1 dir ns k a cluster='' try

	dir=$(fleet_dir "$p")
	ns=$(fleet_etcd_ns "$p")
	for ((k = 1; k <= FLEET_ETCD_MEMBERS; k++)); do
		cluster+="${cluster:+,}e$k=http://$(fleet_etcd_addr $k):2380"
	done
	for ((k = 1; k <= FLEET_ETCD_MEMBERS; k++)); do
		a=$(fleet_etcd_addr $k)
		# ip netns exec execs etcd: $! is the member. A generous
		# election timeout: a loaded two-core machine delays
		# heartbeats, and a needless election fails operations.
		ip netns exec "$ns" etcd --name "e$k" --data-dir "$dir/etcd-e$k" \
			--listen-client-urls "http://$a:2379" \
			--advertise-client-urls "http://$a:2379" \
			--listen-peer-urls "http://$a:2380" \
			--initial-advertise-peer-urls "http://$a:2380" \
			--initial-cluster "$cluster" --initial-cluster-token "$p" \
			--heartbeat-interval 200 --election-timeout 3000 \
			</dev/null >>"$dir/etcd-e$k.log" 2>&1 &
		echo $! >"$dir/etcd-e$k.pid"
	done
	for ((try = 0; try < 300; try++)); do
		fleet_etcdctl "$p" endpoint health >/dev/null 2>&1 && break
		sleep 0.1
	done
	fleet_etcdctl "$p" endpoint health >/dev/null 2>&1 || {
		lab_err "etcd: not healthy after 30 s: $(tail -3 "$dir/etcd-e1.log")"
		return 1
	}
	fleet_etcdctl "$p" get /slotlb/hash_seed | grep -q . ||
		fleet_etcdctl "$p" put /slotlb/hash_seed \
			"$((FLEET_HASH_SEED))" >/dev/null
}

# fleet_etcd_stop P [SIGNAL]: every member gone (default TERM), data kept.
fleet_etcd_stop()
{
	local p=$1 sig=${2:-TERM} dir k pid try

	dir=$(fleet_dir "$p")
	for ((k = 1; k <= FLEET_ETCD_MEMBERS; k++)); do
		pid=$(cat "$dir/etcd-e$k.pid" 2>/dev/null) || continue
		kill -"$sig" "$pid" 2>/dev/null
		for ((try = 0; try < 100; try++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		wait "$pid" 2>/dev/null
		rm -f "$dir/etcd-e$k.pid"
	done
}

# fleet_etcd_down P: members and namespace gone (fleet_down).
fleet_etcd_down()
{
	local ns

	ns=$(fleet_etcd_ns "$1")
	fleet_etcd_stop "$1"
	ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
	ip netns del "$ns" 2>/dev/null
	return 0
}

# --- configuring the fleet, and what each node applied ----------------------

# fleet_configure P ARGS...: one configuration operation for the whole
# fleet: `slotlb ARGS...` on the first live node, which appends it to
# the fleet's log in etcd; returns once every other live node applied
# the log as far (its status's applied entry). Prints the command's
# output; fails if the command does, or if a node does not follow
# within 30 s (naming it).
fleet_configure()
{
	local p=$1 i first='' entry rc=0

	shift
	for ((i = 1; i <= FLEET_NODES; i++)); do
		fleet_node_alive "$p" "$i" && { first=$i; break; }
	done
	[ -n "$first" ] || { lab_err "configure: no live node"; return 1; }
	fleet_cli "$p" "$first" "$@" || return 1
	entry=$(fleet_applied "$p" "$first")
	[ -n "$entry" ] || { lab_err "node$first: no applied entry"; return 1; }
	for ((i = first + 1; i <= FLEET_NODES; i++)); do
		fleet_node_alive "$p" "$i" || continue
		fleet_wait_applied "$p" "$i" "$entry" 30 || rc=1
	done
	return $rc
}

# fleet_applied P I: "ENTRY" of the fleet's log node I applied (its
# status), empty when it cannot say.
fleet_applied()
{
	# awk: python's start takes seconds on a loaded machine
	fleet_cli "$1" "$2" -o json status 2>/dev/null | awk '
		/"applied": \{/ { a = 1; next }
		a && /"entry":/ { gsub(/[^0-9]/, ""); print; exit }'
}

# fleet_wait_applied P I ENTRY [SECONDS]: until node I applied ENTRY.
fleet_wait_applied()
{
	local p=$1 i=$2 want=$3 secs=${4:-30} end got

	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -le $end ]; do
		got=$(fleet_applied "$p" "$i")
		[ -n "$got" ] && [ "$got" -ge "$want" ] && return 0
		sleep 0.05
	done
	lab_err "node$i: applied entry ${got:-?}, not $want, after $secs s"
	return 1
}

# fleet_pin_roots P: every node's pin root, one a line.
fleet_pin_roots()
{
	local i

	for ((i = 1; i <= FLEET_NODES; i++)); do
		ctl_pin_root "$(fleet_node "$1" "$i")"
	done
}
