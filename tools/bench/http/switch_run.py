#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Switch under load, one system: start the load client, run a fixed
# schedule of blue/green switches against it, and record when each switch
# started and when the system said it was done. Python, not bash, so the
# switch times are read on CLOCK_MONOTONIC, the clock the load client
# stamps its events with; both are stored relative to the instant just
# before the load client is started (it starts its own clock a few ms
# later, which analyze.py allows for).
#
#   switch_run.py --out DIR --switches 20 --every 1.2 --first 3 \
#       --switch-cmd 'tools/bench/http/systems.sh switch P slotlb STATE' \
#       -- nsenter --net=/run/netns/P-client build/tools/loadclient ...
#
# Writes DIR/switches.csv: k,start_ms,done_ms,from,to,rc.

import argparse
import os
import shlex
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--switches", type=int, default=20)
    ap.add_argument("--every", type=float, default=1.2)
    ap.add_argument("--first", type=float, default=3.0)
    ap.add_argument("--versions", default="v1,v2")
    ap.add_argument("--switch-cmd", required=True)
    ap.add_argument("--load-timeout", type=float, default=60.0)
    ap.add_argument("load", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    load = a.load[1:] if a.load and a.load[0] == "--" else a.load
    if not load:
        ap.error("no load command after --")
    versions = a.versions.split(",")
    switch = shlex.split(a.switch_cmd)
    os.makedirs(a.out, exist_ok=True)

    rows = []
    t0 = time.monotonic()
    lc = subprocess.Popen(load, stdin=subprocess.DEVNULL)
    try:
        for k in range(1, a.switches + 1):
            due = t0 + a.first + (k - 1) * a.every
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
            old = versions[(k - 1) % 2]
            new = versions[k % 2]
            ts = time.monotonic()
            try:
                rc = subprocess.run(switch + [new], timeout=10,
                                    stdin=subprocess.DEVNULL).returncode
            except subprocess.TimeoutExpired:
                rc = 124
            te = time.monotonic()
            rows.append((k, (ts - t0) * 1e3, (te - t0) * 1e3, old, new, rc))
        rc = lc.wait(timeout=a.load_timeout)
    except BaseException:
        lc.terminate()
        lc.wait(timeout=5)
        raise
    with open(os.path.join(a.out, "switches.csv"), "w") as f:
        f.write("k,start_ms,done_ms,from,to,rc\n")
        for r in rows:
            f.write("%d,%.1f,%.1f,%s,%s,%d\n" % r)
    bad = [r for r in rows if r[5] != 0]
    for r in bad:
        print("Error: switch %d (%s -> %s): exit %d" % (r[0], r[3], r[4],
                                                         r[5]),
              file=sys.stderr)
    if rc != 0:
        print("Error: loadclient: exit %d" % rc, file=sys.stderr)
    return 1 if rc != 0 or bad else 0


if __name__ == "__main__":
    sys.exit(main())
