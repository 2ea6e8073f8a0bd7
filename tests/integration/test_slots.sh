#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Slots beyond the second get traffic of their own: an app with
# production, staging and qa (slot index 2), each holding its own
# deployment (v1, v2, v3 on backends 1, 2, 3). Each slot's endpoint must
# answer its own version, before and after swapping qa into production
# (the third slot's deployment goes to slot 0 and back) and swapping
# staging with qa (--target-slot), and the routing element in the data
# path must name each slot's deployment as status does. Then staging
# and qa take shares of production's clients: ramping staging moves
# none of qa's.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=sl$$
SLOTS=(production staging qa)

# body K: the answer of slot K's endpoint (VIP K+1) on a new connection.
body()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 \
		"http://$(lab_vip $(($1 + 1)) 4)/"
}

# serve V0 I0 V1 I1 V2 I2: slot K answers version VK from backend IK,
# three new connections each.
serve()
{
	local k n got want bad=0 versions=("$1" "$3" "$5") idx=("$2" "$4" "$6")

	for k in 0 1 2; do
		want="${versions[k]} $(be "${idx[k]}")"
		for n in 1 2 3; do
			got=$(body "$k")
			if [ "$got" != "$want" ]; then
				echo "   ${SLOTS[k]}: '$got', want '$want'"
				bad=1
			fi
		done
	done
	return $bad
}

# routing_agrees: three slots in the element, as status says.
routing_agrees()
{
	local got

	got=$(routing_show 0)
	echo "   routing element: $(tr '\n' ';' <<<"$got")"
	[ "$(wc -l <<<"$got")" -eq 3 ] && [ "$got" = "$(routing_expected web)" ]
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" "$DPCTL"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || exit 1
done
ctl_start "$P" || exit 1
ctl_attach_all "$P" 3 || die "attach failed"

need "app create web" cli app create web --endpoint "$(lab_vip 1 4):80" \
	>/dev/null
for k in 1 2; do
	need "slot create web --slot ${SLOTS[k]}" cli slot create web \
		--slot "${SLOTS[k]}" --endpoint "$(lab_vip $((k + 1)) 4):80" \
		>/dev/null
done
check "qa is slot index 2" [ "$(cli -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
print([s["index"] for s in app["slots"] if s["name"] == "qa"][0])')" = 2 ]
for k in 0 1 2; do
	need "deploy v$((k + 1)) into ${SLOTS[k]}" cli deploy web \
		--slot "${SLOTS[k]}" --backend "$(be $((k + 1)))" \
		--version "v$((k + 1))" >/dev/null
done
check "production, staging, qa answer v1, v2, v3" serve v1 1 v2 2 v3 3
check "routing element: slots 0, 1, 2 as status says" routing_agrees

need "slot swap web --slot qa (into production)" \
	cli slot swap web --slot qa >/dev/null
check "after the swap: production v3, staging v2, qa v1" serve v3 3 v2 2 v1 1
check "routing element after the swap" routing_agrees
need "slot swap web --slot qa again" cli slot swap web --slot qa >/dev/null
check "swapped back: production v1, staging v2, qa v3" serve v1 1 v2 2 v3 3
check "routing element after the swap back" routing_agrees

# Between two slots that are not production: --target-slot.
need "slot swap web --slot staging --target-slot qa" \
	cli slot swap web --slot staging --target-slot qa >/dev/null
check "staging and qa exchanged, production untouched: v1, v3, v2" \
	serve v1 1 v3 3 v2 2
check "routing element after the swap of staging and qa" routing_agrees

# Shares of two slots: ramping one moves no client of the other (qa's
# bucket range stays where it was; docs/api.md, share "range").
qa_range()
{
	cli -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "qa":
        print(s["traffic"]["range"])'
}
# qa first: where a layout made afresh would not put it once staging
# has a share too.
need "qa takes 10%" cli slot traffic web --slot qa --percent 10 >/dev/null
before=$(qa_range)
need "staging takes 10%" cli slot traffic web --slot staging --percent 10 \
	>/dev/null
need "staging ramps to 20%" cli slot traffic web --slot staging \
	--percent 20 >/dev/null
after=$(qa_range)
check "staging 0 -> 10 -> 20%: qa's clients stay (range $before, then $after)" \
	test "$before" = "$after" -a "$before" != None

if [ "$failures" -ne 0 ]; then
	echo "FAIL: slots: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: slots"
