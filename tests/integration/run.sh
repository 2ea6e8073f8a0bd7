#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the netns integration tests: every tests/integration/test_*.sh, or
# only those whose name contains one of the arguments. A test exits 0 to
# pass, 77 to skip (a missing capability, said on its last line), anything
# else to fail. Each test builds and tears down its own lab.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

pass=0
fail=0
skip=0
failed=()
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		want=0
		for sel in "$@"; do
			case "$name" in *"$sel"*) want=1 ;; esac
		done
		[ $want -eq 1 ] || continue
	fi
	echo "== integration: $name"
	start=$(date +%s)
	bash "$t"
	rc=$?
	took=$(($(date +%s) - start))
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
done
echo "integration: $pass passed, $fail failed, $skip skipped ${failed[*]:-}"
[ "$fail" -eq 0 ]
