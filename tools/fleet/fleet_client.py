#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The fleet lab's client connections, each from a source port chosen by
the caller, so a test can find a connection's pin on a node (its client
port) and send one 5-tuple through several nodes.

  fleet_client.py tuples VIP:PORT SPORT COUNT TOS[,TOS...]
      For each source port SPORT..SPORT+COUNT-1, one request per TOS (the
      router steers TOS 0x04/0x08/0x0c to node 1/2/3; 0 takes its ECMP
      route), each closed with a reset so the same 5-tuple can be used
      again at once. Prints "SPORT LABEL..." (LABEL: X-Slotlb-Version of
      the answer, or ERR:<cause>).

  fleet_client.py hold VIP:PORT SPORT K DIR BYTES SHA256
      K keep-alive connections (ports SPORT..) and K downloads of
      /stream?bytes=BYTES (ports SPORT+K..): each keep-alive one gets an
      answer, each download its first 64 KiB; then DIR/ready is written
      and the connections wait, the downloads unread (the server blocked
      by TCP flow control), until DIR/go exists. Then a second request on
      each keep-alive connection and the rest of each download. Prints
      "ka SPORT LABEL1 LABEL2" and "dl SPORT LABEL BYTES ok|bad", or
      ERR:<cause> in place of what failed.
"""
import hashlib
import os
import socket
import struct
import sys
import threading
import time

CLIENT = "198.18.0.2"
TIMEOUT = 20


def connect(vip, port, sport, tos=0, rcvbuf=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if tos:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    s.settimeout(TIMEOUT)
    s.bind((CLIENT, sport))
    s.connect((vip, port))
    return s


def reset_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            c = self.s.recv(65536)
            if not c:
                raise EOFError("closed before the head")
            self.buf += c
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        h = {}
        for line in head.decode().split("\r\n")[1:]:
            k, _, v = line.partition(":")
            h[k.strip().lower()] = v.strip()
        return h

    def body(self, n):
        while len(self.buf) < n:
            c = self.s.recv(65536)
            if not c:
                raise EOFError("closed after %d of %d bytes" % (len(self.buf), n))
            self.buf += c
        b, self.buf = self.buf[:n], self.buf[n:]
        return b


def get(s, r, path, close=False):
    s.sendall(("GET %s HTTP/1.1\r\nHost: fleet\r\n%s\r\n" %
               (path, "Connection: close\r\n" if close else "")).encode())
    h = r.head()
    r.body(int(h.get("content-length", 0)))
    return h.get("x-slotlb-version", "ERR:no-label")


def err(e):
    return "ERR:" + type(e).__name__


def tuples(vip, port, sport, count, toses):
    for p in range(sport, sport + count):
        row = []
        for tos in toses:
            try:
                s = connect(vip, port, p, tos)
                row.append(get(s, Reader(s), "/", close=True))
                reset_close(s)
            except Exception as e:  # noqa: BLE001 - reported, not raised
                row.append(err(e))
        print(p, *row, flush=True)


def hold(vip, port, sport, k, d, nbytes, sha):
    kas, dls = [], []
    for i in range(k):
        p = sport + i
        try:
            s = connect(vip, port, p)
            r = Reader(s)
            kas.append([p, s, r, get(s, r, "/")])
        except Exception as e:  # noqa: BLE001
            kas.append([p, None, None, err(e)])
    for i in range(k):
        p = sport + k + i
        try:
            # a small window: most of the body waits on the backend
            s = connect(vip, port, p, rcvbuf=65536)
            r = Reader(s)
            s.sendall(("GET /stream?bytes=%d HTTP/1.1\r\nHost: fleet\r\n\r\n" %
                       nbytes).encode())
            h = r.head()
            first = r.body(65536)
            dls.append([p, s, r, h.get("x-slotlb-version", "ERR:no-label"), first])
        except Exception as e:  # noqa: BLE001
            dls.append([p, None, None, err(e), b""])
    with open(os.path.join(d, "ready"), "w") as f:
        f.write("%d\n" % (len(kas) + len(dls)))
    t = time.time()
    while not os.path.exists(os.path.join(d, "go")) and time.time() - t < 120:
        time.sleep(0.02)
    # Side by side, so a broken connection costs one timeout, not one each.
    out = {}

    def second(p, s, r, label):
        res = "ERR:not-open"
        if s:
            try:
                res = get(s, r, "/")
            except Exception as e:  # noqa: BLE001
                res = err(e)
        out[p] = "ka %d %s %s" % (p, label, res)

    def rest(p, s, r, label, first):
        got, verdict = len(first), "bad"
        if s:
            try:
                body = first + r.body(nbytes - len(first))
                got = len(body)
                verdict = "ok" if hashlib.sha256(body).hexdigest() == sha else "bad"
            except Exception as e:  # noqa: BLE001
                verdict = err(e)
        out[p] = "dl %d %s %d %s" % (p, label, got, verdict)

    ts = [threading.Thread(target=second, args=a) for a in kas]
    ts += [threading.Thread(target=rest, args=a) for a in dls]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for p in sorted(out):
        print(out[p], flush=True)


def main(a):
    vip, _, port = a[1].rpartition(":")
    if a[0] == "tuples" and len(a) == 5:
        tuples(vip, int(port), int(a[2]), int(a[3]),
               [int(t, 0) for t in a[4].split(",")])
    elif a[0] == "hold" and len(a) == 7:
        hold(vip, int(port), int(a[2]), int(a[3]), a[4], int(a[5]), a[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
