#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What every integration test needs besides the lab: named checks that
# count failures, setup steps that end the test, a clock, and the CLI of
# the lab's daemon with a bound on its time. Sourced after tools/lab/lab.sh
# and tools/lab/controller.sh. A test ends with [ "$failures" -eq 0 ].

failures=0

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
