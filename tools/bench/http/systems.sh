#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The four systems the HTTP benchmark compares, each switched on, off and
# from one version to the other inside one lab (tools/lab/lab.sh), so
# run.sh and the switch driver treat them alike:
#
#   direct    no load balancer: kernel routing in the LB namespace
#   slotlb    slotlbd + XDP on pub0/be1..4, production VIP 198.18.100.1
#   nftables  DNAT in the LB namespace, kube-proxy style, VIP .11
#   haproxy   TCP mode in the LB namespace, master-worker, VIP .21
#
# Backends 1-2 serve v1 and 3-4 serve v2. Sourced by run.sh after
# lab.sh and controller.sh; executed as
#   systems.sh switch PREFIX SYSTEM STATE_DIR VERSION
# by switch_run.py, which times each call as one switch.

HB_DIR=${HB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
HB_PORT=${LAB_HTTPD_PORT:-8080}
HB_VIP_SLOTLB=198.18.100.1
# shellcheck disable=SC2034 # run.sh creates the staging slot on it
HB_VIP_STAGING=198.18.100.2
HB_VIP_NFT=198.18.100.11
HB_VIP_HAPROXY=198.18.100.21
HB_BACKENDS=4

hb_err()
{
	echo "Error: bench-http: $*" >&2
}

# hb_backends VERSION: the backend indexes serving VERSION.
hb_backends()
{
	case "$1" in
	v1) echo 1 2 ;;
	v2) echo 3 4 ;;
	*) return 1 ;;
	esac
}

# hb_target SYSTEM: ADDR:PORT the client sends to.
hb_target()
{
	case "$1" in
	direct) echo "198.19.1.2:$HB_PORT" ;;
	slotlb) echo "$HB_VIP_SLOTLB:80" ;;
	nftables) echo "$HB_VIP_NFT:80" ;;
	haproxy) echo "$HB_VIP_HAPROXY:80" ;;
	*) return 1 ;;
	esac
}

# hb_nft_rule VERSION: the service rule choosing among VERSION's backends,
# as kube-proxy's nft mode writes it (numgen random + verdict map).
hb_nft_rule()
{
	local i n=0 vmap=

	for i in $(hb_backends "$1"); do
		vmap+="${vmap:+, }$n : goto ep-b$i"
		n=$((n + 1))
	done
	echo "numgen random mod $n vmap { $vmap }"
}

# hb_render TEMPLATE OUT VERSION STATE_DIR VIP: fill a template in.
hb_render()
{
	local tmpl=$1 out=$2 version=$3 dir=$4 vip=$5
	local i servers=

	for i in $(hb_backends "$version"); do
		servers+="	server b$i $(lab_backend_addr "$i" 4):$HB_PORT\\n"
	done
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$HB_PORT|g" \
		-e "s|@VERSION@|$version|g" \
		-e "s|@SERVICE_RULE@|$(hb_nft_rule "$version")|g" \
		-e "s|@SERVERS@|$servers|" -e "s|@VIP@|$vip|g" \
		"$tmpl" >"$out"
}

hb_haproxy_pid()
{
	cat "$1/haproxy.pid" 2>/dev/null
}

# hb_children PID: the master's current children (its workers).
hb_children()
{
	cat "/proc/$1/task/$1/children" 2>/dev/null
}

hb_haproxy_start()
{
	local p=$1 dir=$2 try

	ip -n "$(lab_ns_lb "$p")" addr add "$HB_VIP_HAPROXY/32" dev lo ||
		return 1
	hb_render "$HB_DIR/haproxy.cfg.in" "$dir/haproxy.cfg" v1 "$dir" \
		"$HB_VIP_HAPROXY" &&
		lab_exec_lb "$p" haproxy -q -c -f "$dir/haproxy.cfg" || return 1
	# -D: the master daemonizes inside the LB namespace (ip netns exec
	# puts it there); its pid file is the handle for reload and stop.
	lab_exec_lb "$p" timeout 10 haproxy -W -D -f "$dir/haproxy.cfg" \
		-S "$dir/master.sock" </dev/null >>"$dir/haproxy.log" 2>&1 ||
		return 1
	for ((try = 0; try < 50; try++)); do
		[ -n "$(hb_children "$(hb_haproxy_pid "$dir")")" ] && return 0
		sleep 0.1
	done
	hb_err "haproxy: no worker after 5 s: $(tail -3 "$dir/haproxy.log")"
	return 1
}

hb_haproxy_stop()
{
	local p=$1 dir=$2 pid try

	pid=$(hb_haproxy_pid "$dir")
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for ((try = 0; try < 50; try++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$dir/haproxy.pid"
	ip -n "$(lab_ns_lb "$p")" addr del "$HB_VIP_HAPROXY/32" dev lo \
		2>/dev/null
	return 0
}

# hb_haproxy_switch P DIR VERSION: edit the config (rename over it, so a
# reload never reads half a file), SIGUSR2 the master, and return once a
# new worker exists: it took the listeners over and told the old worker
# to stop accepting (the old one keeps its open sessions until they end).
hb_haproxy_switch()
{
	local dir=$2 version=$3 pid before now try w

	pid=$(hb_haproxy_pid "$dir")
	[ -n "$pid" ] || return 1
	hb_render "$HB_DIR/haproxy.cfg.in" "$dir/haproxy.cfg.new" "$version" \
		"$dir" "$HB_VIP_HAPROXY" && mv "$dir/haproxy.cfg.new" "$dir/haproxy.cfg" ||
		return 1
	before=" $(hb_children "$pid") "
	kill -USR2 "$pid" || return 1
	for ((try = 0; try < 2500; try++)); do
		now=$(hb_children "$pid")
		for w in $now; do
			[ "${before#* "$w" }" = "$before" ] && return 0
		done
		sleep 0.002
	done
	hb_err "haproxy: no new worker 5 s after SIGUSR2"
	return 1
}

# hb_on P SYSTEM STATE_DIR: make SYSTEM the only thing on the path, with
# v1 active. The others are off: no XDP, no nft table, no haproxy.
hb_on()
{
	local p=$1 sys=$2 dir=$3

	case "$sys" in
	direct) ;;
	slotlb) ctl_attach_all "$p" "$HB_BACKENDS" ;;
	nftables)
		hb_render "$HB_DIR/nftables.nft.in" "$dir/nftables.nft" v1 \
			"$dir" "$HB_VIP_NFT" && lab_exec_lb "$p" nft -f "$dir/nftables.nft"
		;;
	haproxy) hb_haproxy_start "$p" "$dir" ;;
	*) return 1 ;;
	esac
}

hb_off()
{
	local p=$1 sys=$2 dir=$3 i

	case "$sys" in
	direct) ;;
	slotlb)
		ctl_cli "$p" interface detach pub0 >/dev/null
		for ((i = 1; i <= HB_BACKENDS; i++)); do
			ctl_cli "$p" interface detach "be$i" >/dev/null
		done
		;;
	nftables)
		lab_exec_lb "$p" nft delete table ip slotlb_bench 2>/dev/null
		;;
	haproxy) hb_haproxy_stop "$p" "$dir" ;;
	esac
	return 0
}

# hb_switch P SYSTEM STATE_DIR VERSION: make VERSION the active one for
# new connections; returns when the system says it is done.
hb_switch()
{
	local p=$1 sys=$2 dir=$3 version=$4

	case "$sys" in
	slotlb)
		# production and staging hold v1 and v2; a swap exchanges them
		# whichever way round they are, so VERSION only documents.
		ctl_cli "$p" slot swap web --slot staging >/dev/null
		;;
	nftables)
		hb_render "$HB_DIR/nftables-switch.nft.in" "$dir/switch.nft" \
			"$version" "$dir" "$HB_VIP_NFT" &&
			lab_exec_lb "$p" nft -f "$dir/switch.nft"
		;;
	haproxy) hb_haproxy_switch "$p" "$dir" "$version" ;;
	*) return 1 ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	if [ "${1:-}" != switch ] || [ $# -ne 5 ]; then
		echo "Usage: systems.sh switch PREFIX SYSTEM STATE_DIR VERSION" >&2
		exit 2
	fi
	# shellcheck source=tools/lab/lab.sh
	. "$HB_DIR/../../lab/lab.sh"
	# shellcheck source=tools/lab/controller.sh
	. "$HB_DIR/../../lab/controller.sh"
	hb_switch "$2" "$3" "$4" "$5"
	exit $?
fi
