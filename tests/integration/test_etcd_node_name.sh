#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two nodes that give the fleet the same --node-name (or, without it,
# have the same host name, as clones of one image do). Each node's drain
# counts live under /slotlb/drains/NAME: with one name for two nodes,
# one node's count would overwrite the other's and a drain would retire
# under the other's pinned flows. The second node is refused at start
# (exit non-zero, naming the name and the live node that holds it) and
# changes nothing in etcd; the first, killed (-9) and restarted under
# its name while its old lease still holds the key, starts
# (docs/fleet-store.md, "Node names"). Then the fleet's drains hold
# with b under its own name: hold's d1 serves one keep-alive connection
# through node b; d2 and d3 are deployed on node a, so d1 drains; while
# node b's flow is pinned, d1 must not retire (docs/fleet-store.md,
# "Drains across the fleet").
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

P=en$$
OUT=$(mktemp -d /tmp/slotlb-en.XXXXXX)

KA='
import http.client, os, sys, time
c = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
ctl, n, end = sys.argv[2], 0, time.time() + 90
while time.time() < end and not os.path.exists(ctl + "/close"):
    if os.path.exists("%s/req.%d" % (ctl, n)):
        c.request("GET", "/")
        print(n, c.sock.getsockname()[1], c.getresponse().read().decode().strip(), flush=True)
        n += 1
    time.sleep(0.02)
c.close()
print("closed", flush=True)
'
ka()
{
	touch "$OUT/ka/req.$1"
	wait_for 10 grep -q "^$1 " "$OUT/ka.out"
	grep "^$1 " "$OUT/ka.out"
}
draining()
{
	on "$1" -o json status hold | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join(sorted("%s:%d" % (d["version"], d["flows"])
                      for d in app["draining"])))'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3 etcd etcdctl
etcd_trap_cleanup
etcd_lab_up 2 || exit $?
for n in a b; do
	if ! lab_start_httpd "$P$n" 1 v1 || ! lab_start_httpd "$P$n" 2 v2; then
		die "httpd in node $n's lab"
	fi
done
# the store's revision and every key's: a refused node changes none
store_state()
{
	etcdctl_ns get /slotlb/ --prefix -w json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["header"]["revision"],
      " ".join(sorted("%s@%s" % (kv["key"], kv["mod_revision"])
                      for kv in r.get("kvs", []))))'
}
need "node a started as 'same'" ctl_start "${P}a" --store "$ETCD_URL" \
	--node-name same --drain-interval 200
a_key() { etcdctl_ns get /slotlb/drains/same | grep -q drains; }
need "node a holds drains/same" wait_for 10 a_key
before=$(store_state)
blog=$(ctl_dir "${P}b")/slotlbd.log
if ctl_start "${P}b" --store "$ETCD_URL" --node-name same \
	--drain-interval 200; then
	check "node b refused at start with node a's name (it started)" false
	ctl_stop "${P}b"
else
	check "node b refused: $(grep Error "$blog" | tail -1)" \
		grep -q "node name same is held by a live node" "$blog"
fi
after=$(store_state)
check "etcd unchanged by the refused node (revision ${before%% *} -> ${after%% *})" \
	[ "$before" = "$after" ]
need "node a killed (-9)" ctl_stop "${P}a" KILL
# its key is still there, under the dead node's lease
check "drains/same outlives node a" a_key
t0=$(now_ms)
need "node a restarted as 'same' at once" ctl_start "${P}a" --store \
	"$ETCD_URL" --node-name same --drain-interval 200
echo "   node a serving $(($(now_ms) - t0)) ms after its restart"
need "node b started as 'other'" ctl_start "${P}b" --store "$ETCD_URL" \
	--node-name other --drain-interval 200
for n in a b; do
	need "node $n: attach" ctl_attach_all "$P$n" 2
done
mkdir -p "$OUT/ka"
need "app hold deployed on node a (d1)" eval "
	on a app create hold --endpoint $(lab_vip 5 4):80 >/dev/null &&
	on a deploy hold --slot production --backend $(be 1) --version d1 \
		>/dev/null"
b_has_hold() { on b -o json status hold 2>/dev/null | grep -q '"d1"'; }
need "node b applied hold" wait_for 10 b_has_hold
lab_exec_client "$P"b timeout 100 python3 -c "$KA" "$(lab_vip 5 4)" \
	"$OUT/ka" >"$OUT/ka.out" 2>&1 &
first=$(ka 0)
need "keep-alive connection through node b answered by d1 ($first)" \
	[ "$(cut -d' ' -f3 <<<"$first")" = v1 ]
for v in d2 d3; do
	need "deploy $v of hold on node a" eval "on a deploy hold \
		--slot production --backend $(be 2) --version $v >/dev/null"
done
t0=$(now_ms)
bad=0
n=1
while [ $(($(now_ms) - t0)) -lt 4000 ]; do
	got=$(ka $n)
	sb=$(draining b)
	if [ "$sb" != "d1:1 d2:0" ]; then
		echo "   after $(($(now_ms) - t0)) ms: request '$got', draining on b '$sb'"
		bad=$((bad + 1))
	fi
	n=$((n + 1))
	sleep 0.2
done
check "d1 kept draining while node b's flow was pinned" [ $bad -eq 0 ]
on b -o json history hold | grep -o '"detail": "[^"]*d1[^"]*"' | head -3
touch "$OUT/ka/close"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: etcd_node_name: $failures checks failed"
	exit 1
fi
echo "PASS: etcd_node_name"
