#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Samples of a profiled bench_xdp run (tools/bench/profile/run.sh) by
symbol, then slotlb's own samples by source line.

    report.py LINES SAMPLES [TOP]

LINES: "address<TAB>file:line<TAB>source" per line of the slotlb
program, as bench_xdp writes it (BENCH_LINES). SAMPLES: `perf script -F
ip,sym`. A sample is the program's own if its address falls in the
program's jited image (within a page of its last line); the line is the
one whose code starts at or before it.
"""
import bisect
import collections
import sys


def read_lines(path):
    lines = []
    with open(path) as f:
        for row in f:
            parts = row.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            lines.append((int(parts[0], 16), parts[1],
                          parts[2].strip() if len(parts) > 2 else ""))
    lines.sort()
    return lines


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    top = int(sys.argv[3]) if len(sys.argv) == 4 else 30
    try:
        lines = read_lines(sys.argv[1])
    except OSError as e:
        sys.exit("Error: report: %s" % e)
    if not lines:
        sys.exit("Error: report: %s has no lines" % sys.argv[1])
    starts = [a for a, _, _ in lines]
    end = starts[-1] + 4096
    total = own = 0
    by_sym = collections.Counter()
    by_line = collections.Counter()  # file:line (inlined copies merged)
    text = {}
    with open(sys.argv[2]) as f:
        for row in f:
            parts = row.split()
            if not parts:
                continue
            try:
                ip = int(parts[0], 16)
            except ValueError:
                continue
            total += 1
            sym = parts[1] if len(parts) > 1 else "[unknown]"
            if starts[0] <= ip < end:
                own += 1
                sym = "(slotlb program)"
                i = bisect.bisect_right(starts, ip) - 1
                by_line[lines[i][1]] += 1
                text.setdefault(lines[i][1], lines[i][2])
            by_sym[sym] += 1
    if not total:
        sys.exit("Error: report: no samples (was the path timed?)")
    print("%d samples on the bench's CPU while slotlb's loops ran; %d "
          "(%.1f %%) in the program's own code" %
          (total, own, 100.0 * own / total))
    print("\nby symbol (share of all samples):")
    for sym, n in by_sym.most_common(top):
        print("  %5.1f %%  %s" % (100.0 * n / total, sym))
    if not own:
        return
    print("\nthe program's own code by source line (share of its samples):")
    for where, n in by_line.most_common(top):
        print("  %5.1f %%  %-26s %s" % (100.0 * n / own, where,
                                        text[where][:80]))


if __name__ == "__main__":
    main()
