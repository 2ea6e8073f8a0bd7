#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make demo`: deployment slots in about a minute. Builds a veth lab (a
# client, the load balancer, four backends: v1 on b1/b2, v2 on b3/b4),
# runs slotlbd with the XDP program, deploys v1 to production and v2 to
# staging with the CLI, and keeps live HTTP traffic on production while it
# previews v2 to an audience (one client address sees v2 on production's
# endpoint, everyone else v1), completes the swap, watches the old
# deployment drain and rolls back, printing
# answers per second per version. Ends with the load clients' verdicts and
# `slotlb history`, and tears the lab down (also on Ctrl-C). Exits non-zero
# when a request failed or a step did not do what it says, so it doubles
# as a smoke test. docs/demo.md shows what to expect.
#
#   DEMO_KEEP_DIR=DIR  keep the load clients' summaries, the per-second
#                      rows, slotlbd's log and the flow table at each
#                      status in DIR
#   NO_COLOR=1         no colour even on a terminal
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tools/demo/view.sh
. tools/demo/view.sh

P=demo
N=4
PROD=198.18.100.1:80
STG=198.18.100.2:80
VIEW_PROD_TARGET=$PROD
VIEW_STG_TARGET=$STG
# The schedule, in seconds of traffic. Staging is tried before the swap.
# Production's keep-alive connections come in three generations, each
# closing and reopening its connections: the first spans the swap, the
# second the rollback, so both drains can be watched to their end.
TRAFFIC_S=59
STAGING_S=12
PREVIEW_AT=10
SWAP_AT=15
DRAIN_AT=17
KA2_AT=23
DRAINED_AT=26
ROLLBACK_AT=30
AFTER_ROLLBACK_AT=32
KA3_AT=42
V2_DRAINED_AT=45
KEEPALIVE=8
NEW_RATE=100
STG_RATE=20

# The preview audience: a second address of the client namespace.
AUDIENCE=198.18.0.3

FAILURES=0
# slotlbd and the servers, to check that none outlives the teardown.
DEMO_PIDS=()
DIR=
FLOWS=
V1_DRAINING=
V1_DRAINED=
V2_DRAINING=
V2_DRAINED=
PREVIEW_DONE_S=
AUDIENCE_GOT=
OTHERS_GOT=
SWAP_DONE_S=
ROLLBACK_DONE_S=
STG_AFTER_SWAP=
STG_AFTER_ROLLBACK=
GOT=

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	C_BOLD=$'\e[1m' C_DIM=$'\e[2m' C_RED=$'\e[31m' C_GREEN=$'\e[32m'
	C_CYAN=$'\e[36m' C_OFF=$'\e[0m'
else
	C_BOLD='' C_DIM='' C_RED='' C_GREEN='' C_CYAN='' C_OFF=''
fi

die()
{
	echo "${C_RED}Error: demo: $*${C_OFF}" >&2
	exit 1
}

# section TITLE: a banner between the demo's steps.
section()
{
	printf '\n%s== %s%s\n' "$C_CYAN$C_BOLD" "$*" "$C_OFF"
}

# note TEXT: one line explaining what just happened.
note()
{
	printf '%s# %s%s\n' "$C_DIM" "$*" "$C_OFF"
}

# show WORDS...: the command the viewer would type.
show()
{
	printf '%s$ %s%s\n' "$C_BOLD" "$*" "$C_OFF"
}

# slotlb ARGS...: show and run a CLI command against the demo daemon; a
# failure fails the demo.
slotlb()
{
	show slotlb "$@"
	ctl_cli "$P" "$@" || die "step failed: slotlb $*"
}

# check DESCRIPTION COMMAND...: a smoke check of the demo's claims.
check()
{
	local what=$1

	shift
	if "$@"; then
		echo "${C_GREEN}ok${C_OFF}     - $what"
	else
		echo "${C_RED}FAILED${C_OFF} - $what"
		FAILURES=$((FAILURES + 1))
	fi
}

# client_get ADDR [SOURCE]: one request from the client namespace (from
# its address SOURCE if given), as a viewer would try it; the answer is
# also left in GOT.
client_get()
{
	local from=()

	[ -n "${2:-}" ] && from=(--interface "$2")
	show curl -s "${from[@]}" "http://${1%:80}/"
	GOT=$(lab_exec_client "$P" curl -s --noproxy '*' -m 3 "${from[@]}" \
		"http://${1%:80}/")
	echo "$GOT"
	[ -n "$GOT" ]
}

on_exit()
{
	local rc=$?

	if [ "$rc" = 130 ] || [ "$rc" = 143 ]; then
		printf '\n%sdemo: interrupted, tearing down%s\n' "$C_RED" \
			"$C_OFF"
	fi
	view_stop
	ctl_cleanup_all
	exit "$rc"
}

need()
{
	[ -e "$1" ] || die "$1: missing (run make all first)"
}

preflight()
{
	need "$CTL_SLOTLBD"
	need "$CTL_CLI"
	need "$LAB_HTTPD"
	need "$LAB_XDP_PASS"
	need "$VIEW_LOADCLIENT"
	command -v script >/dev/null || die "script(1) missing (util-linux)"
	command -v curl >/dev/null || die "curl missing"
	lab_check_caps || exit $?
	if [ -n "$(lab_namespaces "$P")" ] ||
		[ -e "$(ctl_pin_root "$P")" ]; then
		note "a previous demo lab is still up: tearing it down first"
		ctl_down "$P" || die "cannot tear down the previous demo lab"
	fi
}

build_lab()
{
	local i v

	section "1. A lab: client -> load balancer (XDP) -> 4 backends"
	note "network namespaces $P-client, $P-lb, $P-b1..b$N joined by veth"
	note "pairs; nothing is attached to this machine's own interfaces"
	lab_up "$P" "$N" || die "step failed: lab"
	ip -n "$(lab_ns_client "$P")" addr add "$AUDIENCE/24" dev c0 ||
		die "step failed: the audience's address"
	for ((i = 1; i <= N; i++)); do
		v=v1
		[ "$i" -gt 2 ] && v=v2
		lab_start_httpd "$P" "$i" "$v" || die "step failed: httpd b$i"
		DEMO_PIDS+=("$(cat "$(lab_state_dir "$P")/httpd-b$i.pid")")
		printf '  backend b%d  %s:%s  serves %s\n' "$i" \
			"$(lab_backend_addr "$i")" "$LAB_HTTPD_PORT" "$v"
	done
	note "slotlbd, the controller, runs in $P-lb; the CLI talks to it over"
	note "its Unix socket (SLOTLB_SOCKET=$(ctl_socket "$P"))"
	ctl_start "$P" || die "step failed: slotlbd"
	DEMO_PIDS+=("$(ctl_pid "$P")")
	ctl_attach_all "$P" "$N" || die "step failed: attach XDP"
	note "XDP program attached to pub0 (client side) and be1..be$N:"
	slotlb interface list
}

deploy_app()
{
	section "2. An app with two slots, each with its own endpoint"
	slotlb app create web --endpoint "$PROD"
	slotlb slot create web --slot staging --endpoint "$STG"
	section "3. Deploy v1 into production, v2 into staging"
	slotlb deploy web --slot production --backend 198.19.1.2:8080 \
		--backend 198.19.2.2:8080 --version v1
	slotlb deploy web --slot staging --backend 198.19.3.2:8080 \
		--backend 198.19.4.2:8080 --version v2
	note "from the client namespace:"
	client_get "$PROD" || die "step failed: production does not answer"
	client_get "$STG" || die "step failed: staging does not answer"
}

start_traffic()
{
	local dir=$1

	section "4. Live traffic for ${TRAFFIC_S} s"
	note "production: $NEW_RATE new connections a second (one GET each)"
	note "and $KEEPALIVE keep-alive connections (GETs back to back),"
	note "closed and reopened at t=${KA2_AT}s and t=${KA3_AT}s; staging:"
	note "$STG_RATE new connections a second for its first ${STAGING_S} s"
	note "(a test before the swap). Every answer is checked."
	show loadclient --target "$PROD" --new-rate "$NEW_RATE" \
		--duration "$TRAFFIC_S" --path "'$VIEW_PATH'" \
		--expect-versions v1,v2 --events ...
	show loadclient --target "$PROD" --keepalive "$KEEPALIVE" \
		--duration "$KA2_AT" ...
	show loadclient --target "$STG" --new-rate "$STG_RATE" \
		--duration "$STAGING_S" ...
	note "(the server paces each answer to ~50 ms: readable rates)"
	VIEW_START=$(date +%s%N)
	view_client "$P" "$dir" new "$PROD" "$TRAFFIC_S" \
		--new-rate "$NEW_RATE" || die "step failed: load client"
	view_client "$P" "$dir" ka1 "$PROD" "$KA2_AT" \
		--keepalive "$KEEPALIVE" || die "step failed: load client"
	view_client "$P" "$dir" stg "$STG" "$STAGING_S" \
		--new-rate "$STG_RATE" || die "step failed: load client"
	echo
	note "one row per second: answers per second by the version that"
	note "served them, failed requests, and the versions that answered new"
	note "and keep-alive connections; staging's columns on the right."
	note "Connection attempts that fail are counted in the summary."
	view_header
}

# settled_row: the row (second of traffic) holding the answers to requests
# sent up to now: an answer takes ~50 ms, 200 ms leaves a margin.
settled_row()
{
	echo $((($(date +%s%N) + 200000000 - VIEW_START) / 1000000000 + 1))
}

# status_flows VERSION: show `slotlb status web`; leave in FLOWS the flows
# pinned to the deployment labelled VERSION.
status_flows()
{
	local out

	show slotlb status web
	out=$(ctl_cli "$P" status web) || die "step failed: slotlb status web"
	echo "$out"
	# FLOWS follows VERSION, wherever the columns before it put them
	FLOWS=$(awk -v v="$1" '{ for (i = 1; i < NF; i++)
		if ($i == v) { print $(i + 1); exit } }' <<<"$out")
	if [ -n "${DEMO_KEEP_DIR:-}" ] && mkdir -p "$DEMO_KEEP_DIR"; then
		ctl_exec_lb "$P" "$LAB_BUILD/tools/dpctl" --pin-root \
			"$(ctl_pin_root "$P")" flows \
			>"$DEMO_KEEP_DIR/flows-$(settled_row).txt" 2>&1
	fi
}

# drained_note VERSION: what FLOWS says about VERSION's drain.
drained_note()
{
	if [ "$FLOWS" = 0 ]; then
		note "$1 has drained: no connection is left on it"
	else
		note "$1 still has $FLOWS flows: older connections still open"
	fi
}

# keepalive_generation TAG FROM TO: reopen production's keep-alive
# connections: a new client for seconds FROM..TO.
keepalive_generation()
{
	section "t=${2}s: production's keep-alive connections close, reopen"
	show loadclient --target "$PROD" --keepalive "$KEEPALIVE" \
		--duration $(($3 - $2)) ...
	view_client "$P" "$DIR" "$1" "$PROD" $(($3 - $2)) \
		--keepalive "$KEEPALIVE" || die "step failed: load client"
}

# step N: the schedule, run after row N of the live view.
step()
{
	case "$1" in
	"$PREVIEW_AT")
		section "t=${1}s: preview staging on production to an audience"
		note "phase 1 of a swap with preview: v2 is warmed up and shown"
		note "on production's endpoint to the client $AUDIENCE only;"
		note "everyone else, the load clients too, stays on v1"
		slotlb slot swap web --slot staging --action preview \
			--audience "$AUDIENCE/32" --warmup-path /health \
			--warmup-status 200
		PREVIEW_DONE_S=$(settled_row)
		client_get "$PROD" "$AUDIENCE" ||
			die "step failed: the audience during the preview"
		AUDIENCE_GOT=$GOT
		client_get "$PROD" "$(lab_client_addr 4)" ||
			die "step failed: production during the preview"
		OTHERS_GOT=$GOT
		;;
	"$SWAP_AT")
		section "t=${1}s: complete the swap (warm-up again, one map update)"
		slotlb slot swap web --action swap --warmup-path /health \
			--warmup-status 200
		SWAP_DONE_S=$(settled_row)
		note "new connections to production reach v2 at once; the"
		note "open keep-alive connections stay pinned to v1 until they"
		note "close. Staging's endpoint serves v1 now (endpoints stay,"
		note "deployments move):"
		client_get "$STG" || die "step failed: staging after the swap"
		STG_AFTER_SWAP=$GOT
		;;
	"$DRAIN_AT")
		section "t=${1}s: drain progress"
		status_flows v1
		V1_DRAINING=$FLOWS
		note "v1 is in staging now but still has $FLOWS flows pinned:"
		note "production's keep-alive connections, served till they close"
		;;
	"$KA2_AT")
		keepalive_generation ka2 "$KA2_AT" "$KA3_AT"
		note "the reopened connections are new flows: they go to v2"
		;;
	"$DRAINED_AT")
		section "t=${1}s: drain progress"
		status_flows v1
		V1_DRAINED=$FLOWS
		drained_note v1
		;;
	"$ROLLBACK_AT")
		section "t=${1}s: roll back production to v1 (warm-up again)"
		slotlb slot rollback web
		ROLLBACK_DONE_S=$(settled_row)
		note "new connections go to v1 again, keep-alive ones stay on v2"
		client_get "$STG" ||
			die "step failed: staging after the rollback"
		STG_AFTER_ROLLBACK=$GOT
		;;
	"$AFTER_ROLLBACK_AT")
		section "t=${1}s: drain progress"
		status_flows v2
		V2_DRAINING=$FLOWS
		note "v2 still serves $FLOWS flows: the keep-alive connections"
		note "opened while it was in production"
		;;
	"$KA3_AT")
		keepalive_generation ka3 "$KA3_AT" "$TRAFFIC_S"
		note "the reopened connections go to v1"
		;;
	"$V2_DRAINED_AT")
		section "t=${1}s: drain progress"
		status_flows v2
		V2_DRAINED=$FLOWS
		drained_note v2
		;;
	*)
		return 0
		;;
	esac
	echo
	view_header
}

# client_line TAG NAME: one row of the summary table from TAG's summary;
# counts the clients with a failure in BAD.
client_line()
{
	local j=$DIR/$1.json key v
	local -A r

	[ -r "$j" ] || die "step failed: no summary from load client $1"
	for key in requests_ok requests_failed connect_errors resets io_errors \
		longest_gap_ms; do
		v=$(view_json "$j" "$key")
		[ -n "$v" ] || die "step failed: $key missing in $j"
		r[$key]=$v
	done
	printf '%-24s %6s %6s %8s %6s %6s %6s %9s\n' "$2" "${r[requests_ok]}" \
		"${r[requests_failed]}" "${r[connect_errors]}" "${r[resets]}" \
		"$(view_json_version "$j" v1)" "$(view_json_version "$j" v2)" \
		"${r[longest_gap_ms]}"
	if [ "${r[requests_failed]}" != 0 ]; then
		v='s/^  "failed_by_reason": {\(.*\)},$/\1/p'
		printf '%24s failed: %s\n' '' "$(sed -n "$v" "$j")"
	fi
	v=${r[requests_failed]}${r[connect_errors]}${r[resets]}${r[io_errors]}
	[ "$v" = 0000 ] || BAD=$((BAD + 1))
	[ "$1" = new ] && NEW_GAP=${r[longest_gap_ms]%.*}
}

# pinned TAG WANT OTHER: every answer on TAG's keep-alive connections came
# from version WANT, none from OTHER.
pinned()
{
	[ "$(view_json_version "$DIR/$1.json" "$2")" -gt 0 ] &&
		[ "$(view_json_version "$DIR/$1.json" "$3")" = 0 ]
}

# summary: the load clients' verdicts, the smoke checks.
summary()
{
	local drains

	BAD=0
	NEW_GAP=
	section "5. What the load clients saw"
	printf '%s%-24s %6s %6s %8s %6s %6s %6s %9s%s\n' "$C_DIM" client ok \
		failed conn-err resets v1 v2 'gap (ms)' "$C_OFF"
	client_line new "production new conns"
	client_line ka1 "production keep-alive 1"
	client_line ka2 "production keep-alive 2"
	client_line ka3 "production keep-alive 3"
	client_line stg "staging new conns"
	note "gap: the longest time without a successful answer"
	echo
	check "no request failed, no connect error or reset" test "$BAD" = 0
	check "no pause of 1 s without an answer (longest ${NEW_GAP:-?} ms)" \
		test "${NEW_GAP:-99999}" -lt 1000
	check "the preview showed v2 to the audience, v1 to everyone else" \
		test "${AUDIENCE_GOT%% *}/${OTHERS_GOT%% *}" = v2/v1
	check "new connections stayed on v1 during the preview" \
		phase_only "$PREVIEW_DONE_S" $((SWAP_AT - 1)) 5 6
	check "new connections reached v2 only, from 1 s after the swap" \
		phase_only "$SWAP_DONE_S" "$ROLLBACK_AT" 6 5
	check "new connections reached v1 only, from 1 s after the rollback" \
		phase_only "$ROLLBACK_DONE_S" "$TRAFFIC_S" 5 6
	check "keep-alive connections opened before the swap stayed on v1" \
		pinned ka1 v1 v2
	check "keep-alive connections opened before the rollback stayed on v2" \
		pinned ka2 v2 v1
	check "keep-alive connections opened after the rollback went to v1" \
		pinned ka3 v1 v2
	drains="v1 ${V1_DRAINING:-?} -> ${V1_DRAINED:-?} flows"
	drains+=", v2 ${V2_DRAINING:-?} -> ${V2_DRAINED:-?}"
	check "drains: $drains" drains_done
	check "staging's endpoint served v1 after the swap, v2 after rollback" \
		test "${STG_AFTER_SWAP%% *}/${STG_AFTER_ROLLBACK%% *}" = v1/v2
}

# drains_done: each old deployment held at least the keep-alive flows, then
# none once they closed.
drains_done()
{
	[ "${V1_DRAINING:-0}" -ge "$KEEPALIVE" ] && [ "${V1_DRAINED:-}" = 0 ] &&
		[ "${V2_DRAINING:-0}" -ge "$KEEPALIVE" ] &&
		[ "${V2_DRAINED:-}" = 0 ]
}

# phase_only SETTLED LAST WANT_COL OTHER_COL: the new connections of rows
# after SETTLED up to LAST have answers in column WANT_COL, none in
# OTHER_COL.
phase_only()
{
	local want other first=$(($1 + 1))

	[ -n "$1" ] && [ "$first" -le "$2" ] || return 1
	want=$(view_sum_from "$DIR" new "$3" "$first" "$2")
	other=$(view_sum_from "$DIR" new "$4" "$first" "$2")
	[ "$want" -gt 0 ] && [ "$other" = 0 ]
}

main()
{
	local t0 tag rc left took pid

	t0=$(date +%s)
	preflight
	ctl_trap_cleanup "$P"
	trap on_exit EXIT
	build_lab
	deploy_app
	DIR=$(lab_state_dir "$P")/demo
	mkdir -p "$DIR" || die "cannot create $DIR"
	start_traffic "$DIR"
	view_loop "$DIR" "$TRAFFIC_S" step || die "step failed"
	for tag in "${VIEW_TAGS[@]}"; do
		rc=0
		view_wait "$tag" || rc=$?
		[ "$rc" = 0 ] || die "load client $tag exited with $rc:" \
			"$(cat "$DIR/$tag.log")"
	done
	view_stop
	if [ -n "${DEMO_KEEP_DIR:-}" ]; then
		mkdir -p "$DEMO_KEEP_DIR" && cp "$DIR"/*.json "$DIR"/*.sec \
			"$(ctl_dir "$P")/slotlbd.log" "$DEMO_KEEP_DIR"/
	fi
	summary
	section "6. The history slotlbd recorded"
	slotlb history web
	section "Tearing down"
	ctl_down "$P"
	left=$(lab_namespaces "$P")
	[ -e "$(ctl_pin_root "$P")" ] && left+=" $(ctl_pin_root "$P")"
	for pid in "${DEMO_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && left+=" pid $pid"
	done
	check "nothing left: no namespace, process or pinned map of the demo" \
		test -z "$left"
	echo
	took="($(($(date +%s) - t0)) s)"
	if [ "$FAILURES" -gt 0 ]; then
		echo "$C_RED${C_BOLD}demo: $FAILURES check(s) failed$C_OFF $took"
		exit 1
	fi
	echo "${C_GREEN}${C_BOLD}demo: done, no request failed$C_OFF $took"
}

main "$@"
