#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# etcd slow to answer an append. Node a reaches etcd through a proxy (in
# etcd's namespace) that, while $OUT/slow exists, holds etcd's answers
# to transactions for 3 s, longer than slotlbd's 2 s per request: etcd
# has applied the append, node a never hears so. A swap on node a in
# that moment answers an error that says nothing changed
# (docs/fleet-store.md: "rolled back, no change"); then, once etcd is
# fast again, production must still hold v1 on both nodes and the
# history must have no swap, or the error must not have said that: an
# operator (or a pipeline) that retries a swap it was told did not
# happen swaps back.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
# shellcheck source=tests/integration/etcd_lib.sh
. tests/integration/etcd_lib.sh

P=es$$
OUT=$(mktemp -d /tmp/slotlb-es.XXXXXX)
PROXY_PORT=2391

PROXY_PY='
import asyncio, os, sys
flag, up_host, up_port, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
async def pipe(r, w, slow):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            if slow[0] and os.path.exists(flag):
                await asyncio.sleep(3)
            w.write(b)
            await w.drain()
    except Exception:
        pass
    finally:
        try:
            w.close()
        except Exception:
            pass
async def conn(cr, cw):
    ur, uw = await asyncio.open_connection(up_host, up_port)
    first = await cr.read(65536)
    slow = [b"/v3/kv/txn" in first]
    uw.write(first)
    await uw.drain()
    await asyncio.gather(pipe(cr, uw, [False]), pipe(ur, cw, slow))
async def main():
    s = await asyncio.start_server(conn, up_host, port)
    async with s:
        await s.serve_forever()
asyncio.run(main())
'

prod_of()
{
	on "$1" -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"])'
}

swaps_in_history()
{
	on "$1" -o json history web | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)["history"]
          if e["action"] == "swap" and e["outcome"] == "ok"))'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3 etcd etcdctl
etcd_trap_cleanup
etcd_lab_up 2 || exit $?
ip netns exec "$(etcd_ns)" timeout 300 python3 -c "$PROXY_PY" "$OUT/slow" \
	"$ETCD_ADDR" 2379 "$PROXY_PORT" >"$OUT/proxy.log" 2>&1 &
sleep 0.5
for n in a b; do
	# shellcheck disable=SC2015 # die is the else of the whole chain
	lab_start_httpd "$P$n" 1 v1 && lab_start_httpd "$P$n" 2 v2 ||
		die "httpd in node $n's lab"
done
# node a through the proxy, node b straight to etcd
ETCD_URL_DIRECT=$ETCD_URL
ETCD_URL=etcd://$ETCD_ADDR:$PROXY_PORT
need "node a started on etcd (through the proxy)" node_start a
ETCD_URL=$ETCD_URL_DIRECT
need "node b started on etcd" node_start b
etcd_web_up
need "node b applied node a's entries" wait_for 10 same_applied
need "production holds v1" [ "$(prod_of a)" = v1 ]

touch "$OUT/slow"
out=$(on a slot swap web --slot staging 2>&1)
rc=$?
rm -f "$OUT/slow"
echo "   swap on a while etcd is slow: exit $rc: $out"
sleep 5
pa=$(prod_of a) pb=$(prod_of b) ha=$(swaps_in_history a)
echo "   then: production a=$pa b=$pb, swaps in a's history: $ha"
if [ "$rc" -ne 0 ]; then
	check "the swap was refused: production still v1 on a (got $pa)" \
		[ "$pa" = v1 ]
	check "the swap was refused: production still v1 on b (got $pb)" \
		[ "$pb" = v1 ]
	check "the swap was refused: no swap in the history (got $ha)" \
		[ "$ha" = 0 ]
else
	check "the swap answered ok: production v2 on both" \
		[ "$pa" = v2 ] && [ "$pb" = v2 ]
fi
grep "store:" "$(ctl_dir "${P}a")/slotlbd.log" | tail -5

if [ "$failures" -ne 0 ]; then
	echo "FAIL: etcd_slow: $failures checks failed"
	exit 1
fi
echo "PASS: etcd_slow"
