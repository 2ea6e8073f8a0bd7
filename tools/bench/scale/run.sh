#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Scale benchmark: flow table at 1,000,000 flows (memory, per-packet cost
# against a near-empty table), Maglev build times for 10/100/1000
# backends, swap latency with 1000 apps against 1. The binary runs in a
# private network namespace of its own and removes its pin root; this
# wrapper bounds its time and removes the pin root if it was killed.
#
#   tools/bench/scale/run.sh [FLOWS [ROUNDS]]     (root; default 1000000 5)
set -u
cd "$(dirname "$0")/../../.."

SCALE=${BUILD:-build}/tools/bench/scale/scale
[ "$(id -u)" -eq 0 ] || { echo "Error: bench-scale: needs root" >&2; exit 1; }
[ -x "$SCALE" ] || { echo "Error: bench-scale: $SCALE missing: run make" >&2; exit 1; }

echo "bench-scale: $(nproc) CPUs, kernel $(uname -r)," \
	"$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM"
pin=/sys/fs/bpf/slotlb-scale-$$
timeout -k 10 175 "$SCALE" -p "$pin" -f "${1:-1000000}" -r "${2:-5}"
rc=$?
rm -rf "$pin" # the binary removes it itself unless it was killed
exit "$rc"
