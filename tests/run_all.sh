#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make test: every tier in order, then one closing line over all of them.
# Usage: tests/run_all.sh "UNIT_BINARIES" "BPF_BINARIES"
set -u
cd "$(dirname "$0")/.."
tiers_ok=0
tiers_failed=0
run_tier() {
	if "$@"; then
		tiers_ok=$((tiers_ok + 1))
	else
		tiers_failed=$((tiers_failed + 1))
	fi
}
# shellcheck disable=SC2086
run_tier tests/run_binaries.sh unit $1
# shellcheck disable=SC2086
run_tier tests/run_binaries.sh bpf $2
# every parser of caller input, a few seconds each (make fuzz: longer)
run_tier tests/fuzz/run.sh "${FUZZ_SECONDS:-5}"
run_tier tests/integration/run.sh
echo "tiers: $tiers_ok passed, $tiers_failed failed"
[ "$tiers_failed" -eq 0 ]
