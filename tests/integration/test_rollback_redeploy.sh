#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Rollback after a redeploy (the restore path, not the swap back): deploy
# v1 into production, then v2 into the same slot (v1 drains, but stays
# restorable: it is production's previous deployment, so it must not be
# retired however long its drain has been over), then `slot rollback`:
# v1 must be back in production, through traffic (every new connection
# answered by v1's backend), status (production holds v1's deployment
# id, v2 is draining) and the routing element in the data path (slot 0
# names v1's id). A second rollback restores v2 the same way.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=rr$$
VIP=$(lab_vip 1 4)
# Ticks of the drain thread, so the waits below cover several of them.
DRAIN_INTERVAL_MS=200
OUT=$(mktemp -d /tmp/slotlb-rr.XXXXXX)

# answers N: the bodies of N requests on fresh connections, one a line,
# counted ("COUNT BODY").
answers()
{
	local i

	for ((i = 0; i < $1; i++)); do
		lab_exec_client "$P" curl -s --noproxy '*' -m 3 "http://$VIP/" ||
			echo "(no answer)"
		echo
	done | grep -v '^$' | sort | uniq -c | sed 's/^ *//'
}

# serves VERSION I: 10 new connections, all answered by VERSION from
# backend I.
serves()
{
	local got

	got=$(answers 10)
	echo "   answers: $(tr '\n' ';' <<<"$got")"
	[ "$got" = "10 $1 $(be "$2")" ]
}

# status_says FIELD...: production's version and id, then the draining
# deployments as VERSION:ID, from status -o json.
status_says()
{
	cli -o json status web >"$OUT/status.json" || return 1
	python3 -c '
import json, sys
app = json.load(open(sys.argv[1]))["apps"][0]
prod = [s for s in app["slots"] if s["name"] == "production"][0]
d = prod["deployment"] or {}
print(d.get("version"), d.get("id"), d.get("state"),
      " ".join(sorted("%s:%s:%s" % (x["version"], x["id"], x["state"])
                      for x in app["draining"])))' "$OUT/status.json"
}

# deployment_id VERSION: the id status gives VERSION (in a slot or
# draining).
deployment_id()
{
	cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
deps = [s["deployment"] for s in app["slots"] if s["deployment"]]
deps += app["draining"]
print([d["id"] for d in deps if d["version"] == sys.argv[1]][0])' "$1"
}

# routing_is ID: the data path's routing element of web puts ID in slot 0
# and agrees with status.
routing_is()
{
	local got

	got=$(routing_show 0)
	echo "   routing element: $(tr '\n' ';' <<<"$got")"
	[ "$got" = "slot 0 deployment $1" ] && [ "$got" = "$(routing_expected web)" ]
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" "$DPCTL"
need_tools curl python3
ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || exit 1
lab_start_httpd "$P" 2 v2 || exit 1
ctl_start "$P" --drain-interval "$DRAIN_INTERVAL_MS" || exit 1
ctl_attach_all "$P" 2 || die "attach failed"
need "app create web" cli app create web --endpoint "$VIP:80" >/dev/null

need "deploy v1 into production" \
	cli deploy web --slot production --backend "$(be 1)" --version v1 \
	>/dev/null
v1=$(deployment_id v1)
check "production serves v1" serves v1 1
need "deploy v2 into production (the same slot)" \
	cli deploy web --slot production --backend "$(be 2)" --version v2 \
	>/dev/null
v2=$(deployment_id v2)
check "production serves v2" serves v2 2
check "status: production holds v2 ($v2), v1 ($v1) drains" \
	[ "$(status_says)" = "v2 $v2 active v1:$v1:draining" ]
check "routing element: slot 0 is v2 ($v2)" routing_is "$v2"

# Past the drain margin (1 s) and many ticks: v1 has no flow left, but
# is production's previous deployment, so it must still be there.
sleep 2.5
check "2.5 s later v1 is still draining, not retired" \
	[ "$(status_says)" = "v2 $v2 active v1:$v1:draining" ]

cli slot rollback web >"$OUT/rollback.out" 2>&1
rc=$?
sed 's/^/   | /' "$OUT/rollback.out"
need "slot rollback web exits 0" [ $rc -eq 0 ]
check "rollback prints its outcome line" \
	grep -q '^rollback: .*done' "$OUT/rollback.out"
check "production serves v1 again (new connections)" serves v1 1
check "status: production holds v1 ($v1) again, active; v2 ($v2) drains" \
	[ "$(status_says)" = "v1 $v1 active v2:$v2:draining" ]
check "routing element: slot 0 is v1 ($v1) again" routing_is "$v1"
check "history: deploy, deploy, rollback, all ok" \
	[ "$(cli -o json history web | python3 -c '
import json, sys
print(" ".join("%s/%s" % (h["action"], h["outcome"])
               for h in reversed(json.load(sys.stdin)["history"])
               if h["action"] in ("deploy", "swap", "rollback")))')" = \
	"deploy/ok deploy/ok rollback/ok" ]

# v2 is production's previous now: a second rollback restores it.
sleep 2.5
need "second slot rollback web exits 0" cli slot rollback web >/dev/null
check "production serves v2 after the second rollback" serves v2 2
check "status: production holds v2 ($v2), v1 ($v1) drains" \
	[ "$(status_says)" = "v2 $v2 active v1:$v1:draining" ]
check "routing element: slot 0 is v2 ($v2)" routing_is "$v2"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: rollback after redeploy: $failures check(s) failed"
	echo "--- slotlbd log"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: rollback after redeploy"
