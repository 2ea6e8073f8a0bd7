#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Swap with preview, its audience in the data path, under load. Two
# clients in the client namespace: 198.18.0.3 (and fd00:5107::3), the
# preview audience, and 198.18.0.2 (fd00:5107::2), everyone else. While
# a load client runs from each address against production's endpoint:
#
# - preview staging -> production with the audience: new connections of
#   the audience reach v2 (staging's deployment) on production's
#   endpoint, everyone else's reach v1; the routing element holds the
#   audience; IPv6 too;
# - reset: the audience is back on v1;
# - preview again and complete (--action swap): everyone on v2;
# - not one request failed in either load, through all of it;
# - the audience bound: a preview's audience and the opt-ins share 16
#   prefixes; over it, in either order, the second is refused (409,
#   exit 1, a clear error) and changes nothing, and no hook runs.
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

P=pv$$
PROD=$(lab_vip 1)
PROD6=$(lab_vip 1 6)
STAGING=$(lab_vip 2)
AUD=198.18.0.3
AUD6=fd00:5107::3
OTHER=$(lab_client_addr 4)
OTHER6=$(lab_client_addr 6)
LOADCLIENT=$LAB_BUILD/tools/loadclient

# version_from SOURCE URL: the version a fresh connection from SOURCE gets.
version_from()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 --interface "$1" "$2" |
		cut -d' ' -f1
}

# versions_from SOURCE URL N: the versions of N fresh connections, as
# "COUNT VERSION;..." (a client hashes to one backend per deployment, so
# this checks the deployment, not luck).
versions_from()
{
	local k

	for ((k = 0; k < $3; k++)); do
		version_from "$1" "$2" || echo failed
	done | sort | uniq -c | sed 's/^ *//' | paste -sd';'
}

# ms_since_load: milliseconds since the loads started.
ms_since_load()
{
	echo $(($(now_ms) - LOAD_T0))
}

# new_versions CSV FROM TO: versions of new connections answered in
# [FROM, TO) ms of a load's events, as "VERSION COUNT" lines.
new_versions()
{
	awk -F, -v from="$2" -v to="$3" \
		'NR > 1 && $2 == "new" && $4 == 1 && $1 >= from && $1 < to { n[$3]++ }
		 END { for (v in n) print v, n[v] }' "$1" | sort
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD" "$LOADCLIENT"
need_tools python3 curl
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
# the audience's addresses, beside the client's own
ip -n "$(lab_ns_client "$P")" addr add "$AUD/24" dev c0 || die "audience v4"
ip -n "$(lab_ns_client "$P")" addr add "$AUD6/64" dev c0 nodad ||
	die "audience v6"
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint "$PROD:80" --endpoint "[$PROD6]:80" &&
		cli slot create web --slot staging --endpoint "$STAGING:80" &&
		cli deploy web --slot production --backend "$(be 1)" \
			--backend "[$(lab_backend_addr 1 6)]:$LAB_HTTPD_PORT" \
			--version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" \
			--backend "[$(lab_backend_addr 2 6)]:$LAB_HTTPD_PORT" \
			--version v2 &&
		cli slot config web --slot production --warmup-timeout 2 \
			--warmup-status 200
} >/dev/null || die "seed app"
check "before: the audience gets v1" \
	[ "$(versions_from "$AUD" "http://$PROD/" 3)" = "3 v1" ]

# Load from both addresses through every phase; ended by SIGTERM once
# the phases are over (bounded at 120 s on a slow machine).
for who in aud other; do
	src=$AUD
	[ $who = other ] && src=$OTHER
	# ip netns exec execs the client: $! is its pid (a function in the
	# background would be a subshell)
	ip netns exec "$(lab_ns_client "$P")" "$LOADCLIENT" \
		--target "$PROD:80" --source "$src" \
		--keepalive 2 --new-rate 40 --duration 120 --timeout-ms 3000 \
		--expect-versions v1,v2 --json "$STATE/load-$who.json" \
		--events "$STATE/events-$who.csv" 2>"$STATE/load-$who.err" &
	echo $! >"$STATE/load-$who.pid"
done
LOAD_T0=$(now_ms)
sleep 2

echo "# preview with the audience $AUD/32 and $AUD6/128"
t_preview=$(ms_since_load)
out=$(cli slot swap web --slot staging --action preview \
	--audience "$AUD/32" --audience "$AUD6/128" 2>&1)
rc=$?
t_previewed=$(ms_since_load)
echo "$out" | sed 's/^/   /'
check "preview exits 0" [ "$rc" -eq 0 ]
aud4=$(versions_from "$AUD" "http://$PROD/" 3)
other4=$(versions_from "$OTHER" "http://$PROD/" 3)
aud6=$(versions_from "$AUD6" "http://[$PROD6]/" 2)
other6=$(versions_from "$OTHER6" "http://[$PROD6]/" 2)
echo "   on production's endpoint: audience $aud4 / $aud6, others $other4 / $other6"
check "the audience (IPv4) gets v2 on production's endpoint" [ "$aud4" = "3 v2" ]
check "everyone else (IPv4) gets v1" [ "$other4" = "3 v1" ]
check "the audience (IPv6) gets v2" [ "$aud6" = "2 v2" ]
check "everyone else (IPv6) gets v1" [ "$other6" = "2 v1" ]
check "staging's own endpoint still serves v2" \
	[ "$(version_from "$OTHER" "http://$STAGING/")" = v2 ]
routing=$(routing_show)
echo "$routing" | sed 's/^/   /'
check "the routing element holds both prefixes, production -> staging" \
	[ "$(grep -c '^audience slot 0 -> slot 1 ' <<<"$routing")" = 2 ]
check "status shows the pending swap with its audience" \
	grep -q "staging -> production, audience $AUD/32,$AUD6/128" \
	<<<"$(cli status web)"
sleep 2

echo "# reset: the audience back on v1"
t_reset=$(ms_since_load)
check "reset exits 0" cli slot swap web --action reset
t_was_reset=$(ms_since_load)
check "the audience gets v1 again" \
	[ "$(versions_from "$AUD" "http://$PROD/" 3)" = "3 v1" ]
check "no audience in the routing element" \
	eval '! routing_show | grep -q audience'
sleep 2

echo "# preview again, then complete"
t_preview2=$(ms_since_load)
check "preview exits 0" cli slot swap web --slot staging --action preview \
	--audience "$AUD/32"
sleep 1
t_complete=$(ms_since_load)
check "complete (--action swap) exits 0" cli slot swap web --action swap
t_completed=$(ms_since_load)
check "everyone gets v2" \
	[ "$(versions_from "$OTHER" "http://$PROD/" 3)" = "3 v2" ]
check "the audience too" \
	[ "$(versions_from "$AUD" "http://$PROD/" 3)" = "3 v2" ]
check "routing element: the slots swapped, no audience" \
	[ "$(routing_show)" = "$(routing_expected)" ]
sleep 2

for who in aud other; do
	kill -TERM "$(cat "$STATE/load-$who.pid")" 2>/dev/null
done
for who in aud other; do
	wait "$(cat "$STATE/load-$who.pid")" 2>/dev/null
done
for who in aud other; do
	summary=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["requests_ok"], s["requests_failed"], s["connect_errors"],
      s["resets"] + s["io_errors"],
      ",".join("%s=%d" % kv for kv in sorted(s["versions"].items())))' \
		"$STATE/load-$who.json") || summary="no summary"
	echo "   load from $who: ok failed connect_errors resets+io_errors versions = $summary"
	read -r ok failed cerr resets _ <<<"$summary"
	check "load from $who: requests answered" [ "${ok:-0}" -gt 100 ]
	check "load from $who: zero failed requests" [ "${failed:-1}" = 0 ]
	check "load from $who: zero connect errors and resets" \
		[ "${cerr:-1}" = 0 ] && [ "${resets:-1}" = 0 ]
done
# New connections only: keep-alive ones stay pinned where they began.
# The margins cover a connection opened just before a flip.
m=500
echo "   phases (ms since the loads began): preview $t_preview-$t_previewed," \
	"reset $t_reset-$t_was_reset, complete $t_complete-$t_completed"
a_prev=$(new_versions "$STATE/events-aud.csv" $((t_previewed + m)) "$t_reset")
o_prev=$(new_versions "$STATE/events-other.csv" $((t_previewed + m)) "$t_reset")
a_reset=$(new_versions "$STATE/events-aud.csv" $((t_was_reset + m)) \
	"$t_preview2")
o_done=$(new_versions "$STATE/events-other.csv" $((t_completed + m)) 999999999)
echo "   new connections during the preview: audience $(echo $a_prev), others $(echo $o_prev)"
echo "   after the reset: audience $(echo $a_reset); after complete: others $(echo $o_done)"
check "during the preview every new audience connection got v2" \
	[ "$(cut -d' ' -f1 <<<"$a_prev")" = v2 ]
check "during the preview every other new connection got v1" \
	[ "$(cut -d' ' -f1 <<<"$o_prev")" = v1 ]
check "after the reset the audience's new connections got v1" \
	[ "$(cut -d' ' -f1 <<<"$a_reset")" = v1 ] ||
	awk -F, -v from=$((t_was_reset + m)) -v to="$t_preview2" \
		'$2 == "new" && $3 == "v2" && $1 >= from && $1 < to' \
		"$STATE/events-aud.csv" | head -20
check "after complete everyone's new connections got v2" \
	[ "$(cut -d' ' -f1 <<<"$o_done")" = v2 ]

# --- the audience bound ------------------------------------------------------
# A preview's audience and the opt-ins share the routing element's
# SLOTLB_MAX_AUDIENCE (16) prefixes. Over the bound, in either order,
# the second request is refused (409, exit 1, an error naming both
# counts) and changes nothing: the routing element, the database
# (slots, pending swap, shares and opt-ins, history), and no settings
# hook runs for a preview refused this way.
echo "# the audience bound: opt-ins and a preview's audience together"
printf '#!/bin/sh\ncat >/dev/null\necho "$*" >>%s\n' "$STATE/hook.calls" \
	>"$STATE/hook"
chmod 755 "$STATE/hook"
: >"$STATE/hook.calls"
for s in production staging; do
	cli slot hook set web --slot "$s" --exec "$STATE/hook" >/dev/null ||
		die "hook of $s"
done
# prefixes N FIRST: N /24 prefixes of 10.FIRST.0.0/16 on, comma-joined
prefixes()
{
	local i

	for ((i = 0; i < $1; i++)); do
		printf '10.%d.%d.0/24\n' "$2" "$i"
	done | paste -sd,
}
# audience_args N FIRST: the same as repeated --audience arguments
audience_args()
{
	tr , '\n' <<<"$(prefixes "$1" "$2")" | sed 's/^/--audience\n/'
}
# bound_state: everything a refused request could change.
bound_state()
{
	routing_show
	cli -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
print(json.dumps({"pending": a["pending_swap"], "slots": sorted(
    (s["name"], (s["deployment"] or {}).get("id")) for s in a["slots"])},
    sort_keys=True))'
	cli -o json slot traffic web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["slots"]:
    print(s["name"], s["share_bp"], ",".join(s["opt_in"]))'
	cli -o json history web | sha256sum
	wc -l <"$STATE/hook.calls"
}
# said_bound RC ERR: exit 1, and one line on stderr: the error of a
# preview over the bound (both counts) or of opt-ins over it.
said_bound()
{
	[ "$1" = 1 ] && [ "$(wc -l <"$2")" = 1 ] &&
		grep -qE "^Error: web: audience: the preview's [0-9]+ prefixes and the app's [0-9]+ opt-ins together exceed the 16 |^Error: web: the app's routing holds at most 16 audience prefixes \(opt-ins and a preview's audience together\)" "$2"
}
# refused WHAT RC ERR: the last request exited RC 1 with one line
# "Error: ..." holding WHAT, and the state is the one saved in $was.
refused()
{
	echo "   $(cat "$3") (exit $2)"
	check "$1: exit 1 and an error naming both sides" \
		said_bound "$2" "$3"
	now=$(bound_state)
	check "$1: nothing changed (routing element, slots, pending swap, opt-ins, history, hooks)" \
		[ "$now" = "$was" ] || diff <(echo "$was") <(echo "$now")
}

# 1. opt-ins first (10), then a preview of 7 more: refused
cli slot traffic web --slot staging --opt-in "$(prefixes 10 1)" >/dev/null ||
	die "ten opt-ins"
was=$(bound_state)
check "ten opt-ins in the routing element" \
	[ "$(grep -c '^audience slot 0 -> slot 1 ' <<<"$(routing_show)")" = 10 ]
mapfile -t aud < <(audience_args 7 2)
cli slot swap web --slot staging --action preview "${aud[@]}" \
	>/dev/null 2>"$STATE/err"
refused "a preview of 7 beside 10 opt-ins" $? "$STATE/err"
got=$(ctl_api "$P" POST /v1/apps/web/swap "$(python3 -c '
import json, sys
print(json.dumps({"slot": "staging", "action": "preview",
    "audience": sys.argv[1].split(",")}))' "$(prefixes 7 2)")" | tail -1)
check "the API answers 409" [ "$got" = 409 ]
check "... and nothing changed" [ "$(bound_state)" = "$was" ]
# at the bound exactly (10 + 6 = 16), the preview is taken
mapfile -t aud < <(audience_args 6 2)
check "a preview of 6 beside 10 opt-ins (16 in all) is taken" \
	cli slot swap web --slot staging --action preview "${aud[@]}"
check "... the element holds all 16" \
	[ "$(grep -c '^audience slot 0 -> slot 1 ' <<<"$(routing_show)")" = 16 ]
check "reset exits 0" cli slot swap web --action reset
check "opt-ins cleared" cli slot traffic web --slot staging --clear

# 2. a preview first (10), then 7 opt-ins: refused
mapfile -t aud < <(audience_args 10 3)
check "a preview of 10" \
	cli slot swap web --slot staging --action preview "${aud[@]}"
was=$(bound_state)
cli slot traffic web --slot staging --opt-in "$(prefixes 7 4)" \
	>/dev/null 2>"$STATE/err"
refused "7 opt-ins beside a preview of 10" $? "$STATE/err"
got=$(ctl_api "$P" POST /v1/apps/web/slots/staging/traffic \
	"{\"opt_in\": [$(prefixes 7 4 | sed 's/[^,]*/"&"/g')]}" | tail -1)
check "the API answers 409" [ "$got" = 409 ]
check "... and nothing changed" [ "$(bound_state)" = "$was" ]
check "6 opt-ins beside it (16 in all) are taken" \
	cli slot traffic web --slot staging --opt-in "$(prefixes 6 4)"
check "reset exits 0" cli slot swap web --action reset

if [ "$failures" -ne 0 ]; then
	echo "FAIL: preview_audience: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	cat "$STATE"/load-*.err
	exit 1
fi
echo "PASS: preview_audience"
