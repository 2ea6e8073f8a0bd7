#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the test binaries of one tier; print one summary line per tier. A
# binary exits 0 to pass, 77 to skip (a missing capability, e.g. not
# root), anything else to fail.
# Usage: tests/run_binaries.sh TIER BINARY...
set -u
tier=$1
shift
pass=0
fail=0
skip=0
failed=()
for t in "$@"; do
	echo "== $tier: $(basename "$t")"
	"$t"
	case $? in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*)
		fail=$((fail + 1))
		failed+=("$(basename "$t")")
		;;
	esac
done
echo "$tier: $pass passed, $fail failed, $skip skipped ${failed[*]:-}"
[ "$fail" -eq 0 ]
