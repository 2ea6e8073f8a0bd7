#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the netns integration tests: every tests/integration/test_*.sh, or
# only those whose name contains one of the arguments. A test exits 0 to
# pass, 77 to skip (a missing capability, said on its last line), anything
# else to fail. Each test builds and tears down its own lab (its own
# namespaces, addresses inside them, pin root and state directory), so
# tests can run side by side.
#
# JOBS=N (default 3) runs up to N tests at once; each one's output is
# printed whole when it ends. Most of a lab's time is waiting (warm-ups,
# drains, timeouts), so this shortens make test on two cores. A test
# that measures time or changes the host (installs a package, takes the
# machine's load to measure a swap's switch) says so with a line
#     # integration: serial
# and runs alone, after the others.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
# Debian's python3 first (see the Makefile: a pyenv shim costs seconds a
# start, and the tests start python thousands of times).
export PATH=/usr/bin:$PATH

jobs=${JOBS:-3}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || {
	echo "Error: JOBS: '$jobs' is not a number of tests at once" >&2
	exit 2
}
pass=0
fail=0
skip=0
failed=()
parallel=()
serial=()
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		want=0
		for sel in "$@"; do
			case "$name" in *"$sel"*) want=1 ;; esac
		done
		[ $want -eq 1 ] || continue
	fi
	if grep -q '^# integration: serial' "$t"; then
		serial+=("$t")
	else
		parallel+=("$t")
	fi
done
logs=$(mktemp -d /tmp/slotlb-it.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# run_one TEST: run it, its output to $logs/NAME.out, its exit status
# and seconds to $logs/NAME.rc.
run_one()
{
	local t=$1 name start rc

	name=$(basename "$t" .sh)
	start=$(date +%s)
	bash "$t" >"$logs/$name.out" 2>&1
	rc=$?
	echo "$rc $(($(date +%s) - start))" >"$logs/$name.rc"
}

# report NAME: print a finished test's output and verdict, count it.
report()
{
	local name=$1 rc took

	read -r rc took <"$logs/$name.rc"
	echo "== integration: $name"
	cat "$logs/$name.out"
	case $rc in
	0)
		pass=$((pass + 1))
		echo "-- PASS $name (${took}s)"
		;;
	77)
		skip=$((skip + 1))
		echo "-- SKIP $name"
		;;
	*)
		fail=$((fail + 1))
		failed+=("$name")
		echo "-- FAIL $name (exit $rc, ${took}s)"
		;;
	esac
	rm -f "$logs/$name.rc"
}

# report every test that has ended, in the order they end
report_done()
{
	local f

	for f in "$logs"/*.rc; do
		[ -e "$f" ] || continue
		report "$(basename "$f" .rc)"
	done
}

running=0
for t in "${parallel[@]}"; do
	while [ "$running" -ge "$jobs" ]; do
		wait -n
		running=$((running - 1))
		report_done
	done
	run_one "$t" &
	running=$((running + 1))
done
wait
report_done
for t in "${serial[@]}"; do
	run_one "$t"
	report_done
done
echo "integration: $pass passed, $fail failed, $skip skipped ${failed[*]:-}"
[ "$fail" -eq 0 ]
