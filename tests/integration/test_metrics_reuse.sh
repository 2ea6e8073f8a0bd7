#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Counters of a deployment id that is used again. v1 (backend 1) serves
# a few requests, then v2 and v3 are deployed into production: v1
# drains, retires once its flows closed, and its id is free. v4, deployed
# into staging (no traffic), takes v1's id (the lowest free one): its
# series must start from nothing, not from what v1 counted
# (slotlb_deployment_*_total{deployment=ID,version="v4"} and the TCP
# counters the verification reads), and so must its backend's. Every
# action and outcome slotlb_operations_total shows is one docs/slotlbd.md
# lists.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=mr$$
VIP=$(lab_vip 1 4)
STAGING=$(lab_vip 2 4)

dep_id()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
for s in app["slots"]:
    d = s["deployment"]
    if d and d["version"] == sys.argv[1]:
        print(d["id"])
for d in app.get("draining", []):
    if d["version"] == sys.argv[1]:
        print(d["id"])' "$1"
}

draining()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print(" ".join(sorted(d["version"] for d in app["draining"])))'
}

# metric NAME VERSION: the value of NAME for the deployment VERSION.
metric()
{
	ctl_api "$P" GET /metrics | grep "^$1{" |
		grep "version=\"$2\"" | head -1 | awk '{print $NF}'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || exit 1
done
ctl_start "$P" --drain-interval 200 --metrics-backends || exit 1
ctl_attach_all "$P" 3 || die "attach failed"
need "app create web" cli app create web --endpoint "$VIP:80" >/dev/null
need "slot create staging" cli slot create web --slot staging \
	--endpoint "$STAGING:80" >/dev/null
need "deploy v1" cli deploy web --slot production --backend "$(be 1)" \
	--version v1 >/dev/null
for i in 1 2 3 4 5; do
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 "http://$VIP/" \
		>/dev/null
done
id1=$(dep_id v1)
p1=$(metric slotlb_deployment_packets_total v1)
h1=$(metric slotlb_deployment_tcp_handshakes_total v1)
echo "   v1: deployment $id1, $p1 packets, $h1 handshakes"
need "v1 counted its traffic" [ "${p1:-0}" -gt 0 ]
for v in 2 3; do
	need "deploy v$v" cli deploy web --slot production \
		--backend "$(be $v)" --version "v$v" >/dev/null
done
for ((i = 0; i < 100; i++)); do
	[ "$(draining)" = v2 ] && break
	sleep 0.2
done
need "v1 retired" [ "$(draining)" = v2 ]
need "deploy v4 into staging" cli deploy web --slot staging \
	--backend "$(be 1)" --version v4 >/dev/null
id4=$(dep_id v4)
echo "   v4: deployment $id4 (v1 was $id1)"
need "v4 took v1's id" [ "$id4" = "$id1" ]
p4=$(metric slotlb_deployment_packets_total v4)
f4=$(metric slotlb_deployment_new_flows_total v4)
h4=$(metric slotlb_deployment_tcp_handshakes_total v4)
b4=$(metric slotlb_backend_packets_total v4)
check "v4 (no traffic yet): deployment packets 0 (got $p4)" [ "$p4" = 0 ]
check "v4: new flows 0 (got $f4)" [ "$f4" = 0 ]
check "v4: TCP handshakes 0 (got $h4)" [ "$h4" = 0 ]
check "v4: its backend's packets 0 (got $b4)" [ "$b4" = 0 ]
# docs/slotlbd.md, Metrics: slotlb_operations_total counts the history's
# entries; the table of actions there names each action and its
# outcomes. Every action and outcome the metric shows must be in it (an
# action added without docs fails here).
ops=$(ctl_api "$P" GET /metrics |
	sed -n 's/^slotlb_operations_total{app="[^"]*",action="\([^"]*\)",outcome="\([^"]*\)"}.*/\1:\2/p' |
	sort -u | tr '\n' ' ')
echo "   slotlb_operations_total: $ops"
# shellcheck disable=SC2016 # python, not shell
check "slotlb_operations_total: every action and outcome as docs/slotlbd.md's table of actions has it ($ops)" \
	python3 -c '
import re, sys
doc = open("docs/slotlbd.md").read()
metrics = doc.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
known = {(a, o) for a, outs in
         re.findall(r"^\| `([a-z-]+)` \| ((?:`[a-z]+`(?:, )?)+) \|", metrics, re.M)
         for o in re.findall(r"`([a-z]+)`", outs)}
got = [tuple(w.split(":")) for w in sys.argv[1].split()]
bad = [a + ":" + o for a, o in got if (a, o) not in known]
if bad or not got:
    print("   not in the docs: %s" % (" ".join(bad) or "(no series)"))
sys.exit(bool(bad) or not got)' "$ops"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: metrics_reuse: $failures checks failed"
	exit 1
fi
echo "PASS: metrics_reuse"
