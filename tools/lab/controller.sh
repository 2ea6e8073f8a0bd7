#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlbd in a lab: start, stop, kill and talk to the controller of lab P.
# Sourced after tools/lab/lab.sh by integration tests, benchmarks and the
# demo. The daemon runs in the LB namespace but in the host's mount
# namespace (nsenter --net, not ip netns exec, which would hide the host's
# bpffs under a fresh /sys), so its pinned maps outlive it as they would
# on a real host. Each lab has its own state dir, socket and pin root.

CTL_SLOTLBD=${CTL_SLOTLBD:-$LAB_BUILD/slotlbd}
CTL_CLI=${CTL_CLI:-$LAB_BUILD/slotlb}
CTL_FLOW_CAPACITY=${CTL_FLOW_CAPACITY:-65536}

ctl_dir()
{
	echo "$(lab_state_dir "$1")/ctl"
}

ctl_socket()
{
	echo "$(ctl_dir "$1")/slotlb.sock"
}

ctl_pin_root()
{
	echo "/sys/fs/bpf/slotlb-lab-$1"
}

# ctl_exec_lb P CMD...: run CMD in lab P's LB network namespace only.
ctl_exec_lb()
{
	local p=$1
	shift
	nsenter --net="/run/netns/$(lab_ns_lb "$p")" "$@"
}

# ctl_api P METHOD PATH [JSON]: raw API call; prints the body, then the
# HTTP status on a last line of its own.
ctl_api()
{
	local p=$1 method=$2 path=$3 body=${4:-}
	local args=(-s -X "$method" --unix-socket "$(ctl_socket "$p")"
		-w '\n%{http_code}\n')

	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' \
		--data-binary "$body")
	curl "${args[@]}" "http://slotlb$path"
}

# ctl_cli P ARGS...: the slotlb CLI against lab P's daemon.
ctl_cli()
{
	local p=$1
	shift
	SLOTLB_SOCKET=$(ctl_socket "$p") "$CTL_CLI" "$@"
}

# ctl_start P [SLOTLBD ARGS...]: start the daemon and wait for its API
# (in lab P's LB namespace, or in $CTL_NETNS if set).
ctl_start()
{
	local p=$1 dir pid try
	shift

	dir=$(ctl_dir "$p")
	mkdir -p "$dir" || return 1
	# nsenter itself, not ctl_exec_lb: a function in the background runs
	# in a subshell, so $! would be that shell, and ctl_stop would kill
	# the shell and leave the daemon running. nsenter --net execs.
	nsenter --net="/run/netns/${CTL_NETNS:-$(lab_ns_lb "$p")}" \
		"$CTL_SLOTLBD" \
		--state-dir "$dir" \
		--socket "$(ctl_socket "$p")" --pin-root "$(ctl_pin_root "$p")" \
		--flow-capacity "$CTL_FLOW_CAPACITY" "$@" \
		</dev/null >>"$dir/slotlbd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/slotlbd.pid"
	for ((try = 0; try < 100; try++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			lab_err "slotlbd: exited at start: $(tail -5 "$dir/slotlbd.log")"
			return 1
		fi
		if [ -S "$(ctl_socket "$p")" ] &&
			ctl_api "$p" GET /v1/status 2>/dev/null | tail -1 |
			grep -qx 200; then
			return 0
		fi
		sleep 0.1
	done
	lab_err "slotlbd: API not answering after 10 s"
	return 1
}

ctl_pid()
{
	cat "$(ctl_dir "$1")/slotlbd.pid" 2>/dev/null
}

# ctl_stop P [SIGNAL]: stop the daemon (default TERM) and wait for it.
ctl_stop()
{
	local p=$1 sig=${2:-TERM} pid try

	pid=$(ctl_pid "$p")
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for ((try = 0; try < 100; try++)); do
		kill -0 "$pid" 2>/dev/null || break
		if jobs -p | grep -qx "$pid"; then
			wait "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	rm -f "$(ctl_dir "$p")/slotlbd.pid"
	! kill -0 "$pid" 2>/dev/null
}

# ctl_attach_all P N: attach the program to pub0 and be1..beN.
ctl_attach_all()
{
	local p=$1 n=$2 i

	ctl_cli "$p" interface attach pub0 --role public >/dev/null || return 1
	for ((i = 1; i <= n; i++)); do
		ctl_cli "$p" interface attach "be$i" --role backend \
			>/dev/null || return 1
	done
}

# ctl_down P: daemon, lab and pinned maps gone.
ctl_down()
{
	local p=$1

	ctl_stop "$p" TERM || ctl_stop "$p" KILL
	lab_down "$p"
	rm -rf "$(ctl_pin_root "$p")"
}

# Scratch directories (of the host, outside the lab) to remove as well.
LAB_CLEANUP_DIRS=()

ctl_cleanup_all()
{
	local p

	for p in "${LAB_CLEANUP_PREFIXES[@]}"; do
		ctl_down "$p" || lab_err "$p: teardown incomplete"
	done
	rm -rf "${LAB_CLEANUP_DIRS[@]}"
}

# ctl_trap_cleanup P: tear down daemon, lab and pins on any exit.
ctl_trap_cleanup()
{
	LAB_CLEANUP_PREFIXES+=("$1")
	trap ctl_cleanup_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
