#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Run every fuzz target (tests/fuzz/fuzz.mk) for SECONDS each, starting
# from its corpus in tests/fuzz/corpus/TARGET. With FUZZ_KEEP=1 (make
# fuzz) new inputs that reach new code are added to that corpus;
# otherwise (make test) they go to a scratch directory and the corpus
# stays as committed. A crash, leak, sanitizer report or timeout fails
# the run; the input is kept as build/fuzz/findings/TARGET-*, to be
# fixed and then added to the corpus as finding-NAME. make fuzz ends by
# minimising each corpus (libFuzzer's -merge=1).
# Usage: tests/fuzz/run.sh SECONDS [TARGET...]
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
build=${BUILD:-build}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(addr validate traffic router request config)
findings=$build/fuzz/findings
mkdir -p "$findings"
fail=0
total_runs=0
for t in "${targets[@]}"; do
	bin=$build/fuzz/fuzz_$t
	corpus=tests/fuzz/corpus/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz: $bin not built (make fuzz-build)"
		fail=1
		continue
	fi
	mkdir -p "$corpus"
	if [ "${FUZZ_KEEP:-0}" = 1 ]; then
		dirs=("$corpus")
	else
		scratch=$(mktemp -d)
		dirs=("$scratch" "$corpus")
	fi
	log=$build/fuzz/$t.log
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$findings/$t-" \
		"${dirs[@]}" >"$log" 2>&1
	rc=$?
	if [ "${FUZZ_KEEP:-0}" = 1 ] && [ $rc -eq 0 ]; then
		# keep the corpus small: the inputs that reach the same code,
		# fewest and shortest first (findings stay as they are)
		min=$(mktemp -d)
		"$bin" -merge=1 "$min" "$corpus" >>"$log" 2>&1 &&
			find "$corpus" -type f ! -name 'finding-*' -delete &&
			cp -n "$min"/* "$corpus"/ 2>/dev/null
		rm -rf "$min"
	fi
	[ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$scratch"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	total_runs=$((total_runs + ${runs:-0}))
	if [ $rc -ne 0 ]; then
		echo "FAIL: fuzz: $t: exit $rc after ${runs:-?} runs:"
		grep -m5 -E 'ERROR|runtime error|fuzz_.*\.c:[0-9]+:|Test unit written' "$log" |
			sed 's/^/  /'
		fail=1
	else
		echo "fuzz: $t: ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}," \
			"corpus $(find "$corpus" -type f | wc -l) inputs"
	fi
done
echo "fuzz: ${#targets[@]} targets, $total_runs runs, $([ $fail -eq 0 ] && echo PASS || echo FAILED)"
exit $fail
