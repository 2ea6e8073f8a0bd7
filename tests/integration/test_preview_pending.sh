#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The pending state of a multi-phase swap outlives its daemon:
#
# - kill -9 while a preview is pending: the data path keeps serving the
#   audience the candidate meanwhile (pinned maps); after the restart
#   status shows the same pending swap, reconcile rebuilt the same
#   routing element (audience included), other changes are still
#   refused, and reset works;
# - a crash just before the preview's commit leaves nothing pending and
#   the old element; just after it, the preview with its audience;
# - --timeout with --on-timeout swap completes by itself, with reset (the
#   default) resets, also when the daemon was killed in between (the
#   deadline counts from the stored start).
#
# Backends: b1 v1 (production), b2 v2 (staging).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=pp$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)
AUD=198.18.0.3
OTHER=$(lab_client_addr 4)

version_from()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 --interface "$1" \
		"http://$PROD/" | cut -d' ' -f1
}

# pending: "SLOT->TARGET AUDIENCE ON_TIMEOUT" of the pending swap, or "-".
pending()
{
	ctl_api "$P" GET /v1/status?app=web | head -1 | python3 -c '
import json, sys
p = json.load(sys.stdin)["apps"][0]["pending_swap"]
print("%s->%s %s %s" % (p["slot"], p["target_slot"], ",".join(p["audience"]),
      p["on_timeout"]) if p else "-")'
}

# newest FIELD...: fields of the newest history entry.
newest()
{
	cli -o json history web | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]
print(" ".join(str(e[f]) for f in sys.argv[1:]))' "$@"
}

production()
{
	cli -o json status web | python3 -c '
import json, sys
s = json.load(sys.stdin)["apps"][0]["slots"][0]["deployment"]
print(s["version"])'
}

# restart_crashing POINT: the daemon again (after a kill -9), set to
# SIGKILL itself at POINT.
restart_crashing()
{
	ctl_stop "$P" KILL
	SLOTLBD_CRASH_AT=$1 ctl_start "$P"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
need_tools python3 curl
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
ip -n "$(lab_ns_client "$P")" addr add "$AUD/24" dev c0 || die "audience"
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint "$PROD:80" &&
		cli slot create web --slot staging --endpoint "$STAGING:80" &&
		cli deploy web --slot production --backend "$(be 1)" --version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" --version v2 &&
		cli slot config web --slot production --warmup-timeout 2
} >/dev/null || die "seed app"
idle_routing=$(routing_show)

echo "# kill -9 while a preview is pending"
need "preview exits 0" cli slot swap web --slot staging --action preview \
	--audience "$AUD/32" --timeout 1h --on-timeout swap
want="staging->production $AUD/32 swap"
routing=$(routing_show)
check "pending: $want" [ "$(pending)" = "$want" ]
ctl_stop "$P" KILL
check "while no daemon runs, the audience still gets v2" \
	[ "$(version_from "$AUD")" = v2 ]
check "... and others v1" [ "$(version_from "$OTHER")" = v1 ]
need "slotlbd starts again" ctl_start "$P"
check "after the restart: the same pending swap" [ "$(pending)" = "$want" ]
check "reconcile rebuilt the same routing element, audience included" \
	[ "$(routing_show)" = "$routing" ]
check "the audience still gets v2" [ "$(version_from "$AUD")" = v2 ]
out=$(cli deploy web --slot staging --backend "$(be 2)" 2>&1)
echo "   $out"
check "a deploy is still refused: busy: swap pending" \
	grep -q "busy: swap pending" <<<"$out"
check "reset works after the restart" cli slot swap web --action reset
check "nothing pending" [ "$(pending)" = - ]
check "the routing element is the one before the preview" \
	[ "$(routing_show)" = "$idle_routing" ]

echo "# a crash just before / just after the preview's commit"
need "slotlbd restarts" restart_crashing preview-before-commit
cli slot swap web --slot staging --action preview --audience "$AUD/32" \
	>/dev/null 2>&1
ctl_stop "$P" KILL
need "slotlbd starts again" ctl_start "$P"
check "before the commit: nothing pending" [ "$(pending)" = - ]
check "... and the old routing element" [ "$(routing_show)" = "$idle_routing" ]
check "... the audience gets v1" [ "$(version_from "$AUD")" = v1 ]
need "slotlbd restarts" restart_crashing preview-after-commit
cli slot swap web --slot staging --action preview --audience "$AUD/32" \
	>/dev/null 2>&1
ctl_stop "$P" KILL
need "slotlbd starts again" ctl_start "$P"
check "after the commit: pending" \
	[ "$(pending)" = "staging->production $AUD/32 None" ]
check "... the audience gets v2" [ "$(version_from "$AUD")" = v2 ]
check "reset" cli slot swap web --action reset

echo "# --on-timeout swap"
t0=$(now_ms)
need "preview with --timeout 2 --on-timeout swap" cli slot swap web \
	--slot staging --action preview --audience "$AUD/32" --timeout 2 \
	--on-timeout swap
for ((i = 0; i < 300; i++)); do
	[ "$(pending)" = - ] && break
	sleep 0.1
done
echo "   completed $(($(now_ms) - t0)) ms after the preview began"
check "it completed by itself" [ "$(pending)" = - ]
check "production holds v2" [ "$(production)" = v2 ]
check "history: swap ok, trigger on-timeout" \
	[ "$(newest action outcome trigger)" = "swap ok on-timeout" ]
check "everyone gets v2" [ "$(version_from "$OTHER")" = v2 ]

echo "# --timeout reset, with a kill -9 in between"
t0=$(now_ms)
need "preview with --timeout 4 (reset)" cli slot swap web --slot staging \
	--action preview --audience "$AUD/32" --timeout 4
ctl_stop "$P" KILL
log_lines=$(wc -l <"$(ctl_dir "$P")/slotlbd.log")
need "slotlbd starts again" ctl_start "$P"
# the restarted daemon found it pending and set its timer from the
# stored start (0 s left if the restart took longer than the timeout)
restored=$(tail -n +$((log_lines + 1)) "$(ctl_dir "$P")/slotlbd.log" |
	grep -o 'pending swap of app [0-9]*: reset in [0-9]* s')
echo "   after the restart: $restored"
check "the restarted daemon restored the pending reset and its timer" \
	[ -n "$restored" ]
for ((i = 0; i < 300; i++)); do
	[ "$(pending)" = - ] && break
	sleep 0.1
done
took=$(($(now_ms) - t0))
echo "   reset $took ms after the preview began"
check "it reset by itself" [ "$(pending)" = - ]
check "not before its 4 s" [ "$took" -ge 4000 ]
check "history: reset ok, trigger on-timeout" \
	[ "$(newest action outcome trigger)" = "reset ok on-timeout" ]
check "production keeps v2, the audience too" \
	[ "$(production)" = v2 ] && [ "$(version_from "$AUD")" = v2 ]
check "routing element matches status" [ "$(routing_show)" = "$(routing_expected)" ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: preview_pending: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: preview_pending"
