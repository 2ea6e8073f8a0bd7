#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run cmocka test binaries of one tier; print one summary line per tier.
# Usage: tests/run_binaries.sh TIER BINARY...
set -u
tier=$1
shift
pass=0
fail=0
failed=()
for t in "$@"; do
	echo "== $tier: $(basename "$t")"
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$(basename "$t")")
	fi
done
echo "$tier: $pass binaries passed, $fail failed ${failed[*]:-}"
[ "$fail" -eq 0 ]
