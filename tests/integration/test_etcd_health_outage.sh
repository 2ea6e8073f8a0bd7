#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A backend goes down while etcd is away. Node a's production (v3 on b1
# and b2) has a health policy; etcd stops; b2's server in node a's lab
# dies: node a takes it out of its ring (maps), but the transition's
# transaction cannot reach the log. When etcd is back, the transition
# must be recorded (a "health" "down" history entry for b2, as
# docs/slotlbd.md promises for every transition) and b2 must stay out of
# node a's ring: every new connection through node a answered by b1.
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

P=eh$$
OUT=$(mktemp -d /tmp/slotlb-eh.XXXXXX)

health_of()
{
	on a -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
for s in app["slots"]:
    if s["name"] != "production" or not s["deployment"]:
        continue
    for b in s["deployment"]["backends"]:
        if b["address"] == sys.argv[1]:
            h = b["health"]
            print("- -" if h is None else "%s %s" % (h["state"],
                  "in" if h["in_ring"] else "out"))' "$1"
}
is_down() { [ "$(health_of "$(be 2)")" = "down out" ]; }
is_up() { [ "$(health_of "$(be 2)")" = "up in" ]; }
down_entries()
{
	on a -o json history web | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)["history"]
          if e["action"] == "health" and e["outcome"] == "down"
          and sys.argv[1] in e["detail"]))' "$(be 2)"
}

etcd_fleet_up attach
etcd_web_up
need "v3 (b1, b2) into production on node a" on a deploy web \
	--slot production --backend "$(be 1)" --backend "$(be 2)" \
	--version v3 >/dev/null
need "health policy on production" on a slot health web --slot production \
	--path / --interval 0.5 --timeout 0.4 --unhealthy-after 2 \
	--healthy-after 2 >/dev/null
need "b2 probed and up on node a" wait_for 10 is_up
etcd_stop
lab_stop_httpd "${P}a" 2
need "node a: b2 down and out of its ring (etcd away)" wait_for 15 is_down
etcd_start || die "etcd back"
need "node b applied node a's entries" wait_for 20 same_applied
sleep 3
n=$(down_entries)
check "history has b2's health down after etcd came back (got $n)" [ "$n" -ge 1 ]
check "node a's status still shows b2 down and out ($(health_of "$(be 2)"))" is_down
ok=0 bad=0
for i in $(seq 1 30); do
	got=$(lab_exec_client "${P}a" curl -s --noproxy '*' -m 2 \
		"http://$(lab_vip 1 4)/" | cut -d' ' -f1)
	if [ "$got" = v1 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
done
check "30 new connections through node a all answered ($ok ok, $bad failed)" \
	[ "$bad" -eq 0 ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: etcd_health_outage: $failures checks failed"
	grep -E "health|reconcile|store" "$(ctl_dir "${P}a")/slotlbd.log" | tail -12
	exit 1
fi
echo "PASS: etcd_health_outage"
