#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What the fleet lab's nodes' data paths hold, read from their pinned
maps with the bpf(2) syscall (no bpftool or dpctl process per read, so a
node's flip is seen within about a millisecond). PIN is a node's pin
root, /sys/fs/bpf/slotlb-lab-PnI (bpffs is not per network namespace).

  fleet_maps.py seed PIN...
      Each node's Maglev hash seed (settings[0].hash_seed), 0x%08x a line.

  fleet_maps.py routing APP PIN...
      Each node's routing element of app id APP (app_routing[APP] names
      its entry of routing_pool; the entry's index may differ between
      nodes, its bytes may not): the sha256 of its bytes, or "none".

  fleet_maps.py swaps COUNT APP TIMEOUT PIN... -- CMD...
      COUNT times: read every node's routing element of APP, run CMD
      (a swap on one node), and poll all nodes every millisecond until
      each node's element changed and all are equal, at most TIMEOUT
      seconds after CMD exited. Prints a line per swap:
        swap K rc=RC cmd MS flipped MS MS ... all MS spread MS
      (times from CMD's start: each node's first change, the moment all
      were changed and equal; spread: from the first node's change to
      that moment), or "swap K FAILED ..." / "swap K NOT CONVERGED ...".
      Then "summary ..." with p50/p99/max. Exit 1 if a swap failed or
      did not reach every node.
"""
import ctypes
import hashlib
import os
import platform
import subprocess
import sys
import time

BPF_MAP_LOOKUP_ELEM = 1
BPF_OBJ_GET = 7
NR_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
ROUTING_SIZE = 552  # sizeof(struct slotlb_routing), include/slotlb/abi.h
SETTINGS_SIZE = 8  # sizeof(struct slotlb_settings)

libc = ctypes.CDLL(None, use_errno=True)


class ObjAttr(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32),
                ("file_flags", ctypes.c_uint32)]


class ElemAttr(ctypes.Structure):
    _fields_ = [("map_fd", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("key", ctypes.c_uint64), ("value", ctypes.c_uint64),
                ("flags", ctypes.c_uint64)]


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, ObjAttr(ctypes.addressof(p), 0, 0))


def lookup(fd, key, size):
    k = ctypes.c_uint32(key)
    v = ctypes.create_string_buffer(size)
    bpf(BPF_MAP_LOOKUP_ELEM,
        ElemAttr(fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))
    return v.raw


class Node:
    def __init__(self, pin):
        self.pin = pin
        self.routing = obj_get(pin + "/app_routing")
        self.pool = obj_get(pin + "/routing_pool")

    def element(self, app):
        """The routing element's bytes, None when the app has none."""
        index = int.from_bytes(lookup(self.routing, app, 8)[0:4], "little")
        return lookup(self.pool, index, ROUTING_SIZE) if index else None


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] if v else -1


def swaps(count, app, timeout, pins, cmd):
    nodes = [Node(p) for p in pins]
    bad = 0
    alls, spreads, cmds = [], [], []
    per_node = [[] for _ in nodes]
    for k in range(1, count + 1):
        before = [n.element(app) for n in nodes]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        flipped = [None] * len(nodes)
        done = t_cmd = rc = None
        while True:
            now = time.monotonic()
            cur = [n.element(app) for n in nodes]
            for i, c in enumerate(cur):
                if flipped[i] is None and c != before[i]:
                    flipped[i] = now
            # the moment all are changed and alike (again, if a node
            # passed through another element)
            if None not in flipped and all(c == cur[0] for c in cur):
                done = done or now
            else:
                done = None
            if rc is None:
                rc = proc.poll()
                if rc is not None:
                    t_cmd = time.monotonic()
            if rc is not None and (done or rc != 0 or
                                   now - t_cmd > timeout):
                break
            time.sleep(0.001)
        err = proc.stderr.read().decode(errors="replace").strip()
        ms = lambda t: int((t - t0) * 1000) if t else -1
        if rc != 0:
            bad += 1
            print("swap %d FAILED rc=%d: %s" % (k, rc, err), flush=True)
            continue
        line = "swap %d rc=0 cmd %d flipped %s" % (
            k, ms(t_cmd), " ".join(str(ms(t)) for t in flipped))
        if not done:
            bad += 1
            print("%s NOT CONVERGED within %g s after the command: %s" % (
                line, timeout, " ".join(
                    "node%d=%s" % (i + 1, "changed" if f else "unchanged")
                    for i, f in enumerate(flipped))), flush=True)
            continue
        alls.append(ms(done))
        spreads.append(int((done - min(flipped)) * 1000))
        cmds.append(ms(t_cmd))
        for i, t in enumerate(flipped):
            per_node[i].append(ms(t))
        print("%s all %d spread %d" % (line, alls[-1], spreads[-1]),
              flush=True)
    print("summary: %d swaps, %d reached all %d nodes; all flipped after "
          "the command's start p50 %d p99 %d max %d ms; first node to last "
          "p50 %d p99 %d max %d ms; command p50 %d p99 %d ms; each node's "
          "first change p50 %s ms" % (
              count, len(alls), len(nodes), pct(alls, .5), pct(alls, .99),
              pct(alls, 1), pct(spreads, .5), pct(spreads, .99),
              pct(spreads, 1), pct(cmds, .5), pct(cmds, .99),
              " ".join(str(pct(v, .5)) for v in per_node)))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "seed":
        for p in argv[1:]:
            s = lookup(obj_get(p + "/settings"), 0, SETTINGS_SIZE)
            print("0x%08x" % int.from_bytes(s[0:4], "little"))
        return 0
    if len(argv) >= 3 and argv[0] == "routing":
        for p in argv[2:]:
            e = Node(p).element(int(argv[1]))
            print(hashlib.sha256(e).hexdigest() if e else "none")
        return 0
    if len(argv) >= 7 and argv[0] == "swaps" and "--" in argv:
        sep = argv.index("--")
        pins, cmd = argv[4:sep], argv[sep + 1:]
        if pins and cmd:
            return swaps(int(argv[1]), int(argv[2]), float(argv[3]), pins,
                         cmd)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
