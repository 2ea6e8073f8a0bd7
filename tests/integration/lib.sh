#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What every integration test needs besides the lab: named checks that
# count failures, setup steps that end the test, a clock, and the CLI of
# the lab's daemon with a bound on its time. Sourced after tools/lab/lab.sh
# and tools/lab/controller.sh. A test ends with [ "$failures" -eq 0 ].

failures=0
DPCTL=${DPCTL:-$LAB_BUILD/tools/dpctl}
# dpctl attach loads the program; its verification took 7-22 s at load
# 20-24 here. Every other dpctl command opens the maps only (0.2 s).
DPCTL_TIMEOUT=${DPCTL_TIMEOUT:-60}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# check DESCRIPTION CMD...: run CMD; print ok/not ok; count a failure.
check()
{
	local what=$1

	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		failures=$((failures + 1))
		return 1
	fi
}

# need DESCRIPTION CMD...: a check the rest of the test depends on.
need()
{
	check "$@" || exit 1
}

# die MESSAGE: a setup step did not work; the test cannot go on.
die()
{
	echo "FAIL: $(basename "$0" .sh): $*" >&2
	exit 1
}

# require_built FILE...: what the test runs must have been built.
require_built()
{
	local f

	for f in "$@"; do
		[ -e "$f" ] || die "$f missing (run make all)"
	done
}

# need_tools CMD...: skip (exit 77) when a command the test uses is absent.
need_tools()
{
	local c

	for c in "$@"; do
		if ! command -v "$c" >/dev/null; then
			echo "SKIP: needs $c"
			exit 77
		fi
	done
}

# routing_show [APP_ID]: the routing element in the data path, read from
# lab P's pinned maps (default app id 0).
routing_show()
{
	ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
		routing show "${1:-0}"
}

# routing_expected [APP]: what routing_show must print for what
# `slotlb status APP` says (default web).
routing_expected()
{
	cli -o json status "${1:-web}" | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
for s in sorted(app["slots"], key=lambda s: s["index"]):
    if s["deployment"]:
        print("slot %d deployment %d" % (s["index"], s["deployment"]["id"]))'
}

# be I: backend I's IPv4 address and the lab server's port.
be()
{
	echo "$(lab_backend_addr "$1" 4):$LAB_HTTPD_PORT"
}

# cli ARGS...: the CLI against lab P's daemon, bounded in time.
cli()
{
	SLOTLB_SOCKET=$(ctl_socket "$P") timeout 30 "$CTL_CLI" "$@"
}
