#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Controller speed benchmark helpers (driven by run.sh):
#
#   ctlbench.py probe ADDR:PORT SECONDS OUT      in the client namespace:
#       new connection after new connection, one GET each, and the
#       CLOCK_MONOTONIC time of every response whose version differs from
#       the previous one (the flips), bounded by SECONDS
#   ctlbench.py swaps SOCKET APP SLOT N OUT      N swaps through the API,
#       each with its request/response times and the daemon's switch_us
#   ctlbench.py populate SOCKET APPS BACKENDS    apps app0001.. with
#       BACKENDS backends spread over them, one deployment each
#   ctlbench.py report SWAPS PROBE               the swap table
#
# CLOCK_MONOTONIC is one clock for every network namespace, so the
# probe's and the swap driver's times compare directly.
import concurrent.futures
import http.client
import json
import socket
import statistics
import subprocess
import sys
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("slotlb", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


def api(conn, method, path, body=None):
    data = json.dumps(body) if body is not None else None
    hdrs = {"Content-Type": "application/json"} if data else {}
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    text = r.read()
    return r.status, json.loads(text) if text else {}


def probe(target, seconds, out):
    host, port = target.rsplit(":", 1)
    flips, last, n, errors = [], None, 0, 0
    start = time.monotonic()
    end = start + float(seconds)
    req = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    try:
        while time.monotonic() < end:
            n, last, errors = probe_one(host, port, req, flips, n, last,
                                        errors)
    except KeyboardInterrupt:  # run.sh stops us once the swaps are done
        pass
    with open(out, "w") as f:
        json.dump({"requests": n, "errors": errors,
                   "seconds": time.monotonic() - start, "flips": flips}, f)


def probe_one(host, port, req, flips, n, last, errors):
    """One new connection, one GET; note a flip of the version."""
    try:
        s = socket.create_connection((host, int(port)), timeout=1)
        s.sendall(req.encode())
        buf = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        s.close()
        t = time.monotonic()
        version = buf.split(b"\r\n\r\n", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return n, last, errors + 1
    if version != last:
        flips.append([t, version])
    return n + 1, version, errors


def swaps(sock, app, slot, n, out):
    conn = UnixHTTP(sock)
    rows = []
    for i in range(int(n)):
        t0 = time.monotonic()
        status, body = api(conn, "POST", f"/v1/apps/{app}/swap",
                           {"slot": slot})
        t1 = time.monotonic()
        if status != 200:
            sys.exit(f"Error: swap {i}: {status} {body}")
        rows.append({"t_req": t0, "t_resp": t1,
                     "switch_us": body.get("switch_us")})
        time.sleep(0.15)  # let the probe see every state
    with open(out, "w") as f:
        json.dump(rows, f)


def populate_range(sock, first, last, per, extra):
    conn = UnixHTTP(sock)
    for a in range(first, last):
        name = f"app{a:04d}"
        ep = f"10.{100 + a // 250}.{a % 250}.1:80"
        st, body = api(conn, "POST", "/v1/apps",
                       {"name": name, "endpoints": [ep]})
        if st != 201:
            raise RuntimeError(f"{name}: {st} {body}")
        # backends numbered globally, so every address is distinct
        b0 = (a - 1) * per + min(a - 1, extra)
        k = per + (1 if a <= extra else 0)
        bes = [f"10.{200 + b // 62500}.{b // 250 % 250}.{b % 250 + 1}:8080"
               for b in range(b0, b0 + k)]
        st, body = api(conn, "POST",
                       f"/v1/apps/{name}/slots/production/deploy",
                       {"backends": bes, "version": "v1"})
        if st != 201:
            raise RuntimeError(f"{name}: deploy: {st} {body}")


def populate(sock, apps, backends):
    """Four API clients at once: most of a deploy is the kernel's RCU
    grace period after each map-in-map update, which overlaps."""
    apps, backends = int(apps), int(backends)
    per, extra = divmod(backends, apps)
    step = (apps + 3) // 4
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        jobs = [ex.submit(populate_range, sock, f, min(f + step, apps + 1),
                          per, extra) for f in range(1, apps + 1, step)]
        for j in jobs:
            j.result()
    print(f"    populated {apps} apps, {backends} backends")


def stat(v, unit=""):
    return (f"{statistics.median(v):.1f}{unit} ({min(v):.1f}-"
            f"{max(v):.1f})")


def report(swaps_file, probe_file):
    rows = json.load(open(swaps_file))
    pr = json.load(open(probe_file))
    flips = pr["flips"]
    sw = [r["switch_us"] for r in rows if r["switch_us"] is not None]
    resp = [(r["t_resp"] - r["t_req"]) * 1e3 for r in rows]
    lag, since_req, seen = [], [], 0
    for i, r in enumerate(rows):
        end = rows[i + 1]["t_req"] if i + 1 < len(rows) else 1e18
        # the first flip after this swap was requested, before the next
        f = [t for t, _ in flips if r["t_req"] <= t < end]
        if f:
            seen += 1
            lag.append((f[0] - r["t_resp"]) * 1e3)
            since_req.append((f[0] - r["t_req"]) * 1e3)
    period = pr["seconds"] * 1e3 / max(pr["requests"], 1)
    print(f"\n{len(rows)} swaps; probe: {pr['requests']} requests "
          f"(one new connection each, every {period:.2f} ms), "
          f"{pr['errors']} errors, {len(flips)} version flips\n")
    print("| measure | median (min-max) | target |")
    print("|---|---|---|")
    print(f"| switch_us: end of warm-up -> map update returned | "
          f"{stat([s / 1e3 for s in sw], ' ms')} | < 1 ms: "
          f"{'met' if statistics.median(sw) < 1000 else 'MISSED'} |")
    print(f"| swap request -> response (warm-up included) | "
          f"{stat(resp, ' ms')} | |")
    if lag:
        print(f"| first new-version response seen by the probe, after the "
              f"swap request | {stat(since_req, ' ms')} | |")
        print(f"| first new-version response seen by the probe, relative "
              f"to the swap response | {stat(lag, ' ms')} | |")
    print(f"\nflips seen for {seen} of {len(rows)} swaps")
    return 0 if len(sw) == len(rows) and seen == len(rows) else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "probe":
        probe(*args)
    elif cmd == "swaps":
        swaps(*args)
    elif cmd == "populate":
        populate(*args)
    elif cmd == "report":
        return report(*args)
    else:
        sys.exit(f"Error: ctlbench: unknown command {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
