#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The veth/netns lab: a client namespace, a load balancer namespace and one
# namespace per backend, wired with veth pairs created directly inside the
# namespaces so the machine's own interfaces are never touched and no
# namespace has a route out of the lab. Sourced by the integration tests
# (lab_* functions) and usable by hand:
#
#   tools/lab/lab.sh up [--prefix P] [--backends N]
#   tools/lab/lab.sh down [--prefix P]
#   tools/lab/lab.sh status [--prefix P]
#   tools/lab/lab.sh httpd [--prefix P] I VERSION [HTTPD ARGS...]
#   tools/lab/lab.sh exec [--prefix P] client|lb|bI CMD...
#
# Topology and addresses: docs/lab.md.

LAB_ROOT=${LAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_BUILD=${LAB_BUILD:-$LAB_ROOT/build}
LAB_HTTPD=${LAB_HTTPD:-$LAB_BUILD/tools/httpd}
LAB_XDP_PASS=${LAB_XDP_PASS:-$LAB_BUILD/tools/xdp_pass.bpf.o}
LAB_HTTPD_PORT=${LAB_HTTPD_PORT:-8080}
# Per-lab state (httpd pids and logs) lives outside the namespaces.
LAB_STATE_BASE=${LAB_STATE_BASE:-${TMPDIR:-/tmp}}
# 198.19.I.0/24 bounds the backend index.
LAB_MAX_BACKENDS=250

# Prefixes lab_trap_cleanup will tear down on exit.
LAB_CLEANUP_PREFIXES=()

lab_err()
{
	echo "Error: lab: $*" >&2
}

lab_ns_client()
{
	echo "$1-client"
}

lab_ns_lb()
{
	echo "$1-lb"
}

lab_ns_backend()
{
	echo "$1-b$2"
}

# A router between the client and the LB, for the tests that need one
# (test_pmtu.sh builds it); lab_down removes it with the rest.
lab_ns_router()
{
	echo "$1-router"
}

lab_state_dir()
{
	echo "$LAB_STATE_BASE/slotlb-lab.$1"
}

# lab_backend_addr I [4|6]: backend I's own address.
lab_backend_addr()
{
	if [ "${2:-4}" = 6 ]; then
		printf 'fd00:5107:%x::2\n' $((0x1000 + $1))
	else
		echo "198.19.$1.2"
	fi
}

# lab_backend_gw I [4|6]: the LB's address on backend I's link.
lab_backend_gw()
{
	if [ "${2:-4}" = 6 ]; then
		printf 'fd00:5107:%x::1\n' $((0x1000 + $1))
	else
		echo "198.19.$1.1"
	fi
}

# lab_vip K [4|6]: the K-th address of the VIP range routed to the LB.
lab_vip()
{
	if [ "${2:-4}" = 6 ]; then
		printf 'fd00:5107:100::%x\n' "$1"
	else
		echo "198.18.100.$1"
	fi
}

# lab_client_addr [4|6]
lab_client_addr()
{
	if [ "${1:-4}" = 6 ]; then
		echo fd00:5107::2
	else
		echo 198.18.0.2
	fi
}

# lab_check_caps: 0 when a lab can be built here, else 77 with the reason.
lab_check_caps()
{
	local probe="slbprobe$$"

	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: lab needs root (network namespaces, veth, XDP)" >&2
		return 77
	fi
	if ! command -v ip >/dev/null || ! command -v ethtool >/dev/null; then
		echo "SKIP: lab needs iproute2 and ethtool" >&2
		return 77
	fi
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "SKIP: network namespaces unavailable" >&2
		return 77
	fi
	if ! ip -n "$probe" link add p0 type veth peer name p1 2>/dev/null; then
		ip netns del "$probe" 2>/dev/null
		echo "SKIP: veth unavailable" >&2
		return 77
	fi
	ip netns del "$probe"
	return 0
}

lab_exec_client()
{
	local p=$1
	shift
	ip netns exec "$(lab_ns_client "$p")" "$@"
}

lab_exec_lb()
{
	local p=$1
	shift
	ip netns exec "$(lab_ns_lb "$p")" "$@"
}

lab_exec_backend()
{
	local p=$1 i=$2
	shift 2
	ip netns exec "$(lab_ns_backend "$p" "$i")" "$@"
}

# Make an end host's veth behave like a NIC on a wire: complete checksums
# and MTU-sized segments leave it (a veth would otherwise hand the LB
# CHECKSUM_PARTIAL skbs and 64 KB TSO frames, which XDP sees as broken
# checksums and oversized packets), no GRO, and an XDP_PASS program so the
# LB's XDP_REDIRECT/XDP_TX into the peer is delivered (docs/lab.md).
lab_wire_like()
{
	local ns=$1 dev=$2

	ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off \
		>/dev/null || return 1
	ip -n "$ns" link set dev "$dev" xdpdrv obj "$LAB_XDP_PASS" sec xdp ||
		return 1
}

# Sysctls every lab namespace gets: addresses usable at once (no DAD),
# no router solicitations leaking, IPv6 on.
lab_ns_sysctls()
{
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.router_solicitations=0 \
		net.ipv6.conf.default.accept_ra=0 >/dev/null
}

lab_add_ns()
{
	ip netns add "$1" || return 1
	lab_ns_sysctls "$1" || return 1
	ip -n "$1" link set lo up
}

lab_up_backend()
{
	local p=$1 i=$2
	local lb bns

	lb=$(lab_ns_lb "$p")
	bns=$(lab_ns_backend "$p" "$i")
	lab_add_ns "$bns" || return 1
	ip -n "$lb" link add "be$i" type veth peer name eth0 netns "$bns" &&
		ip netns exec "$lb" sysctl -qw \
			"net.ipv4.conf.be$i.rp_filter=0" >/dev/null &&
		lab_wire_like "$bns" eth0 || return 1
	ip -n "$lb" -batch - <<-EOF || return 1
		addr add $(lab_backend_gw "$i" 4)/24 dev be$i
		addr add $(lab_backend_gw "$i" 6)/64 dev be$i nodad
		link set be$i up
	EOF
	# The backend's only link is to the LB, so its default route
	# cannot leave the lab: the LB namespace has no default route.
	ip -n "$bns" -batch - <<-EOF
		addr add $(lab_backend_addr "$i" 4)/24 dev eth0
		addr add $(lab_backend_addr "$i" 6)/64 dev eth0 nodad
		link set eth0 up
		route add default via $(lab_backend_gw "$i" 4)
		route add default via $(lab_backend_gw "$i" 6)
	EOF
}

lab_up_unchecked()
{
	local p=$1 n=$2
	local c lb i

	c=$(lab_ns_client "$p")
	lb=$(lab_ns_lb "$p")
	mkdir -p "$(lab_state_dir "$p")" || return 1
	lab_add_ns "$c" && lab_add_ns "$lb" || return 1
	ip netns exec "$lb" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
	ip -n "$c" link add c0 type veth peer name pub0 netns "$lb" &&
		ip netns exec "$lb" sysctl -qw net.ipv4.conf.pub0.rp_filter=0 \
			>/dev/null &&
		lab_wire_like "$c" c0 || return 1
	ip -n "$lb" -batch - <<-EOF || return 1
		addr add 198.18.0.1/24 dev pub0
		addr add fd00:5107::1/64 dev pub0 nodad
		link set pub0 up
	EOF
	# Only the VIP range and the backend nets, never a default route.
	# The v6 backend nets fd00:5107:1001:: .. 10fa:: differ in the third
	# group, so they need a /36; a /52 would cover only 1000::.
	ip -n "$c" -batch - <<-EOF || return 1
		addr add 198.18.0.2/24 dev c0
		addr add fd00:5107::2/64 dev c0 nodad
		link set c0 up
		route add 198.18.100.0/24 via 198.18.0.1
		route add 198.19.0.0/16 via 198.18.0.1
		route add fd00:5107:100::/64 via fd00:5107::1
		route add fd00:5107:1000::/36 via fd00:5107::1
	EOF
	for ((i = 1; i <= n; i++)); do
		lab_up_backend "$p" "$i" || return 1
	done
}

# lab_up P N: build lab P with N backends. Returns 77 when this machine
# cannot host a lab; on any other failure the half-built lab is removed.
lab_up()
{
	local p=$1 n=${2:-2}

	case "$n" in
	'' | *[!0-9]*)
		lab_err "backends: '$n' is not a number"
		return 1
		;;
	esac
	if [ "$n" -lt 1 ] || [ "$n" -gt "$LAB_MAX_BACKENDS" ]; then
		lab_err "backends: $n is not in 1..$LAB_MAX_BACKENDS"
		return 1
	fi
	# The LB namespace name is the longest; netns names have no hard
	# limit, but keep prefixes short so they read well in `ip netns`.
	if ! [[ "$p" =~ ^[A-Za-z0-9_]{1,24}$ ]]; then
		lab_err "prefix: '$p' must be 1-24 of [A-Za-z0-9_]"
		return 1
	fi
	lab_check_caps || return $?
	if [ ! -r "$LAB_XDP_PASS" ]; then
		lab_err "$LAB_XDP_PASS: missing (make $LAB_XDP_PASS)"
		return 1
	fi
	if [ -n "$(lab_namespaces "$p")" ]; then
		lab_err "$p: lab already up (lab.sh down --prefix $p)"
		return 1
	fi
	if ! lab_up_unchecked "$p" "$n"; then
		lab_err "$p: setup failed, tearing down"
		lab_down "$p"
		return 1
	fi
}

# lab_namespaces P: every namespace of lab P.
lab_namespaces()
{
	local p=$1

	ip netns list 2>/dev/null | awk '{ print $1 }' |
		grep -E "^$p-(client|lb|router|b[0-9]+)$" | sort -V
}

# lab_down P: kill everything running in lab P and delete its namespaces.
# Idempotent; touches nothing outside the lab's namespaces.
lab_down()
{
	local p=$1
	local ns pids pid try all=

	for ns in $(lab_namespaces "$p"); do
		all+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
		for try in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$pids" ] || break
			# shellcheck disable=SC2086
			if [ "$try" -lt 10 ]; then
				kill -TERM $pids 2>/dev/null || true
			else
				kill -KILL $pids 2>/dev/null || true
			fi
			sleep 0.1
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$(lab_state_dir "$p")"
	# Reap what this shell started in the lab (lab_start_httpd, tests'
	# background jobs) so no zombie stays; only the dead ones, so a
	# process that outlived SIGKILL cannot hang the teardown.
	for pid in $all; do
		if jobs -p | grep -qx "$pid" && ! lab_pid_alive "$pid"; then
			wait "$pid" 2>/dev/null || true
		fi
	done
	[ -z "$(lab_namespaces "$p")" ]
}

lab_cleanup_all()
{
	local p

	for p in "${LAB_CLEANUP_PREFIXES[@]}"; do
		lab_down "$p" || lab_err "$p: teardown incomplete"
	done
}

# lab_trap_cleanup P: tear lab P down when the shell exits, whether the
# test passed, failed, or was interrupted. Interrupts exit, which runs the
# EXIT trap once.
lab_trap_cleanup()
{
	LAB_CLEANUP_PREFIXES+=("$1")
	trap lab_cleanup_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# lab_accepts P I: does backend I's server accept on both families?
lab_accepts()
{
	local p=$1 i=$2
	local a4 a6

	a4=$(lab_backend_addr "$i" 4)
	a6=$(lab_backend_addr "$i" 6)
	lab_exec_backend "$p" "$i" bash -c \
		"exec 3<>/dev/tcp/$a4/$LAB_HTTPD_PORT && exec 4<>/dev/tcp/$a6/$LAB_HTTPD_PORT" \
		2>/dev/null
}

# lab_start_httpd P I VERSION [ARGS...]: run the lab httpd in backend I on
# port LAB_HTTPD_PORT, both families, and wait until it accepts.
lab_start_httpd()
{
	local p=$1 i=$2 version=$3
	local state pid try

	shift 3
	state=$(lab_state_dir "$p")
	if [ ! -x "$LAB_HTTPD" ]; then
		lab_err "$LAB_HTTPD: missing (make $LAB_HTTPD)"
		return 1
	fi
	mkdir -p "$state" || return 1
	lab_stop_httpd "$p" "$i" >/dev/null 2>&1 || true
	# ip netns exec execs the server, so $! is the server's own pid.
	ip netns exec "$(lab_ns_backend "$p" "$i")" "$LAB_HTTPD" \
		--listen "[::]:$LAB_HTTPD_PORT" --version "$version" \
		--quiet "$@" </dev/null >"$state/httpd-b$i.log" 2>&1 &
	pid=$!
	echo "$pid" >"$state/httpd-b$i.pid"
	for ((try = 0; try < 50; try++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			lab_err "httpd b$i: exited at start: $(cat "$state/httpd-b$i.log")"
			return 1
		fi
		lab_accepts "$p" "$i" && return 0
		sleep 0.1
	done
	lab_err "httpd b$i: not accepting after 5s"
	return 1
}

# lab_pid_alive PID: running, i.e. neither gone nor a zombie.
lab_pid_alive()
{
	kill -0 "$1" 2>/dev/null &&
		[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
			cut -d' ' -f1)" != Z ]
}

# lab_stop_httpd P I: SIGTERM backend I's server and wait for it; returns
# its exit status when this shell started it (127 from wait means it did
# not, e.g. `lab.sh httpd` by hand).
lab_stop_httpd()
{
	local p=$1 i=$2
	local f pid try rc=0

	f="$(lab_state_dir "$p")/httpd-b$i.pid"
	[ -r "$f" ] || return 0
	pid=$(cat "$f")
	rm -f "$f"
	kill -TERM "$pid" 2>/dev/null || true
	for ((try = 0; try < 50; try++)); do
		lab_pid_alive "$pid" || break
		sleep 0.1
	done
	if lab_pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		lab_err "httpd b$i: ignored SIGTERM, killed"
		rc=1
	fi
	# bash keeps the status of a child it already reaped, so this is
	# right even when the server died long before.
	wait "$pid" 2>/dev/null || rc=$?
	[ $rc -eq 127 ] && rc=0
	return $rc
}

lab_status()
{
	local p=$1
	local ns dev

	if [ -z "$(lab_namespaces "$p")" ]; then
		echo "no lab with prefix $p"
		return 0
	fi
	for ns in $(lab_namespaces "$p"); do
		echo "== $ns"
		ip -n "$ns" -br addr show | grep -v '^lo '
		for dev in $(ip -n "$ns" -o link show | awk -F': ' '{ print $2 }' |
			sed 's/@.*//' | grep -v '^lo$'); do
			if ip -n "$ns" link show dev "$dev" | grep -q 'prog/xdp'; then
				echo "   $dev: xdp $(ip -n "$ns" link show dev "$dev" |
					grep -o 'prog/xdp id [0-9]*')"
			fi
		done
		ip -n "$ns" route show | sed 's/^/   v4 /'
		ip -n "$ns" -6 route show | grep -v '^fe80\|^multicast' |
			sed 's/^/   v6 /'
		if [ -n "$(ip netns pids "$ns")" ]; then
			echo "   pids: $(ip netns pids "$ns" | tr '\n' ' ')"
		fi
	done
}

lab_usage()
{
	cat <<EOF
Usage: lab.sh up [--prefix P] [--backends N]
       lab.sh down [--prefix P]
       lab.sh status [--prefix P]
       lab.sh httpd [--prefix P] I VERSION [HTTPD ARGS...]
       lab.sh exec [--prefix P] client|lb|bI CMD...
P defaults to slb, N to 2. See docs/lab.md.
EOF
}

lab_main()
{
	local cmd=${1:-}
	local p=slb n=2 rc

	[ $# -gt 0 ] && shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--prefix)
			p=${2:-}
			shift 2 || { lab_usage >&2; return 1; }
			;;
		--backends)
			n=${2:-}
			shift 2 || { lab_usage >&2; return 1; }
			;;
		*)
			break
			;;
		esac
	done
	case "$cmd" in
	up)
		lab_up "$p" "$n" || return $?
		lab_status "$p"
		;;
	down)
		lab_down "$p"
		;;
	status)
		lab_status "$p"
		;;
	httpd)
		[ $# -ge 2 ] || { lab_usage >&2; return 1; }
		# By hand the server must outlive this script: detach it and
		# leave the pid file for lab_stop_httpd / lab.sh down.
		lab_start_httpd "$p" "$@" || return 1
		disown -a
		;;
	exec)
		[ $# -ge 2 ] || { lab_usage >&2; return 1; }
		local where=$1
		shift
		case "$where" in
		client) lab_exec_client "$p" "$@" ;;
		lb) lab_exec_lb "$p" "$@" ;;
		b[0-9]*) lab_exec_backend "$p" "${where#b}" "$@" ;;
		*)
			lab_usage >&2
			return 1
			;;
		esac
		;;
	-h | --help | help)
		lab_usage
		;;
	*)
		lab_usage >&2
		return 1
		;;
	esac
	rc=$?
	return $rc
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	lab_main "$@"
	exit $?
fi
