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
# - not one request failed in either load, through all of it.
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

if [ "$failures" -ne 0 ]; then
	echo "FAIL: preview_audience: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	cat "$STATE"/load-*.err
	exit 1
fi
echo "PASS: preview_audience"
