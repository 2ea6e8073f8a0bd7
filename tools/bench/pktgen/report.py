#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench-pktgen's report: Mpps per system and case (median, min, max over
# the runs), the ratio slotlb / bare (median of per-run ratios, and of the
# medians), and checks that the runs measured what they claim: slotlb's
# frames arrived NATed to a backend port, the bare redirect's did not.
#
#   report.py SAMPLES [DPCTL_STATS]
# SAMPLES lines: system case run sent received natted seconds
# FLOWS (environment): the flows the udp and tcp-est cases cycled through
import os
import statistics
import sys

TARGET = 0.8
FLOWS = int(os.environ.get("FLOWS", "65536"))
CASES = [("udp", f"UDP, {FLOWS:,} flows (established after first pass)"),
         ("tcp-est", f"TCP ACK, {FLOWS:,} established flows"),
         ("tcp-new", "TCP SYN, every frame a new flow (LRU full)")]


def main():
    rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
    rate, loss, bad = {}, {}, []
    for sys_, case, run, sent, got, nat, secs in rows:
        sent, got, nat, secs = int(sent), int(got), int(nat), float(secs)
        rate.setdefault((sys_, case), {})[int(run)] = got / secs / 1e6
        loss.setdefault((sys_, case), []).append(1 - got / sent)
        if sys_ == "slotlb" and got and nat < 0.99 * got:
            bad.append(f"slotlb {case} run {run}: only {nat} of {got} "
                       "frames reached the sink NATed")
        if sys_ == "bare" and nat:
            bad.append(f"bare {case} run {run}: {nat} frames NATed?")
        if not got:
            bad.append(f"{sys_} {case} run {run}: nothing arrived")
    print()
    print("| case | slotlb Mpps med (min-max) | bare Mpps med (min-max) "
          "| ratio med (min-max) | target 0.8x |")
    print("|---|---|---|---|---|")
    missed = 0
    for case, label in CASES:
        s, b = rate.get(("slotlb", case)), rate.get(("bare", case))
        if not s or not b:
            continue
        ratios = [s[r] / b[r] for r in s if r in b and b[r]]
        med = statistics.median(ratios)
        ok = med >= TARGET
        missed += not ok
        fmt = lambda v: (f"{statistics.median(v):.3f} "
                         f"({min(v):.3f}-{max(v):.3f})")
        print(f"| {label} | {fmt(list(s.values()))} | "
              f"{fmt(list(b.values()))} | {med:.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | "
              f"{'met' if ok else 'MISSED'} |")
    print()
    worst = max((max(v), k) for k, v in loss.items())
    print(f"worst generator-to-sink loss in a run: {worst[0] * 100:.2f}% "
          f"({worst[1][0]} {worst[1][1]})")
    if len(sys.argv) > 2:
        print("slotlb reasons over all its runs (dpctl stats):")
        for line in open(sys.argv[2]):
            if line.strip():
                print("   ", line.rstrip())
    for b in bad:
        print("Error: bench-pktgen:", b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
