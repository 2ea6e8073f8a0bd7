#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make demo-ramp`: testing in production in about 40 seconds. The lab of
# `make demo` (a client, the load balancer, v1 on b1/b2 in production, v2
# on b3/b4 in staging), sixteen clients (source addresses of the client
# namespace) opening new connections to production's endpoint all the
# time, and four keep-alive connections. The share of production's new
# clients sent to staging ramps 0 -> 10 -> 25 -> 50 -> 100%, then staging
# is swapped in. One row per second shows which version answered each
# client: a client keeps its version while the share stays, joins v2 when
# the share grows over it, and never goes back; the keep-alive
# connections stay on v1 whatever happens. Exits non-zero if a request
# failed or a client left v2 during the ramp, so it doubles as a smoke
# test. docs/demo.md shows what to expect.
#
#   NO_COLOR=1        no colour even on a terminal
#   RAMP_KEEP_DIR=DIR keep the load client's summary and rows in DIR
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh

P=ramp
N=4
PROD=198.18.100.1:80
STG=198.18.100.2:80
CLIENTS=16
NEW_RATE=64 # four new connections per client and second
KEEPALIVE=4
TRAFFIC_S=34
LOADCLIENT=$LAB_BUILD/tools/loadclient
# The schedule: at second N, staging's share becomes P (or the swap).
declare -A AT=([5]=10 [10]=25 [15]=50 [20]=100 [25]=swap)
# The server paces each answer to ~50 ms, so the rates stay readable.
LOAD_PATH='/stream?bytes=1200&rate=20000'

FAILURES=0
LC_PID=
AWK_PID=
DIR=

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	C_BOLD=$'\e[1m' C_DIM=$'\e[2m' C_RED=$'\e[31m' C_GREEN=$'\e[32m'
	C_CYAN=$'\e[36m' C_OFF=$'\e[0m'
else
	C_BOLD='' C_DIM='' C_RED='' C_GREEN='' C_CYAN='' C_OFF=''
fi

die()
{
	echo "${C_RED}Error: demo-ramp: $*${C_OFF}" >&2
	exit 1
}

section()
{
	printf '\n%s== %s%s\n' "$C_CYAN$C_BOLD" "$*" "$C_OFF"
}

note()
{
	printf '%s# %s%s\n' "$C_DIM" "$*" "$C_OFF"
}

# slotlb ARGS...: show and run a CLI command; a failure ends the demo.
slotlb()
{
	printf '%s$ slotlb %s%s\n' "$C_BOLD" "$*" "$C_OFF"
	ctl_cli "$P" "$@" || die "step failed: slotlb $*"
}

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

client_addr()
{
	echo "198.18.0.$((101 + $1))"
}

on_exit()
{
	local rc=$?

	[ -n "$LC_PID" ] && kill "$LC_PID" 2>/dev/null
	[ -n "$AWK_PID" ] && kill "$AWK_PID" 2>/dev/null
	ctl_cleanup_all
	if [ -n "${RAMP_KEEP_DIR:-}" ] && [ -n "$DIR" ]; then
		mkdir -p "$RAMP_KEEP_DIR" &&
			cp "$DIR"/load.json "$DIR"/rows "$RAMP_KEEP_DIR/" 2>/dev/null
	fi
	[ -n "$DIR" ] && rm -rf "$DIR"
	exit "$rc"
}

# Per second of traffic, from the load client's events CSV (with its
# source column): "N FAILED KEEPALIVE C1 .. C16", where Ci is what
# answered client i's new connections that second (1 = v1, 2 = v2, 12 =
# both, - = none) and KEEPALIVE the same for the keep-alive connections.
# A second is printed once a later one shows up (answers come in order).
# shellcheck disable=SC2016 # awk's own variables
RAMP_AWK='
BEGIN { FS = ","; n = split(srcs, src, ","); cur = 0; fail = 0 }
function cell(s) { return s == "" ? "-" : s }
function emit(   i, line) {
	line = cur + 1 " " fail " " cell(ka)
	for (i = 1; i <= n; i++)
		line = line " " cell(seen[src[i]])
	print line
	fflush()
	delete seen
	fail = 0
	ka = ""
}
function add(old, v) { return index(old, v) ? old : (old == "" ? v : "12") }
{ sub(/\r$/, "") }
NF != 5 || $1 !~ /^[0-9]+$/ { next }
{
	s = int($1 / 1000)
	while (cur < s) { emit(); cur++ }
	if ($4 != 1) { fail++; next }
	v = $3 == "v1" ? "1" : $3 == "v2" ? "2" : "?"
	if ($2 == "keepalive")
		ka = add(ka, v)
	else
		seen[$5] = add(seen[$5], v)
}
END { emit() }
'

# row LINE SHARE MEASURED: one second, coloured.
row()
{
	local -a r
	local c out=''

	read -r -a r <<<"$1"
	for c in "${r[@]:3}"; do
		case "$c" in
		2) out+="${C_GREEN}2${C_OFF} " ;;
		1) out+="${C_DIM}1${C_OFF} " ;;
		*) out+="${C_RED}${c}${C_OFF} " ;;
		esac
	done
	printf ' t=%-4s %6s %9s   %s  %-10s %s\n' "${r[0]}s" "$2" "$3" \
		"$out" "v${r[2]}" "$([ "${r[1]}" = 0 ] && echo 0 ||
			echo "$C_RED${r[1]}$C_OFF")"
}

# measured: staging's measured share now, as `slot traffic` shows it.
measured()
{
	ctl_cli "$P" slot traffic web 2>/dev/null |
		awk '$1 == "staging" { print $3 }'
}

preflight()
{
	local f

	for f in "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
		"$LOADCLIENT"; do
		[ -e "$f" ] || die "$f: missing (run make all first)"
	done
	command -v script >/dev/null || die "script(1) missing (util-linux)"
	lab_check_caps || exit $?
	if [ -n "$(lab_namespaces "$P")" ] || [ -e "$(ctl_pin_root "$P")" ]; then
		note "a previous ramp lab is still up: tearing it down first"
		ctl_down "$P" || die "cannot tear down the previous lab"
	fi
}

setup()
{
	local i v

	section "1. The lab, slotlbd, an app with production (v1) and staging (v2)"
	lab_up "$P" "$N" || die "step failed: lab"
	for ((i = 1; i <= N; i++)); do
		v=v1
		[ "$i" -gt 2 ] && v=v2
		lab_start_httpd "$P" "$i" "$v" || die "step failed: httpd b$i"
	done
	for ((i = 0; i < CLIENTS; i++)); do
		echo "addr add $(client_addr "$i")/24 dev c0"
	done | ip -n "$(lab_ns_client "$P")" -batch - ||
		die "step failed: client addresses"
	ctl_start "$P" --drain-interval 250 || die "step failed: slotlbd"
	ctl_attach_all "$P" "$N" || die "step failed: attach XDP"
	slotlb app create web --endpoint "$PROD" >/dev/null
	slotlb slot create web --slot staging --endpoint "$STG" >/dev/null
	slotlb deploy web --slot production --backend 198.19.1.2:8080 \
		--backend 198.19.2.2:8080 --version v1 >/dev/null
	slotlb deploy web --slot staging --backend 198.19.3.2:8080 \
		--backend 198.19.4.2:8080 --version v2 >/dev/null
	note "clients: $(client_addr 0) .. $(client_addr $((CLIENTS - 1))) in the"
	note "client namespace, all on production's endpoint $PROD"
}

start_traffic()
{
	local srcs cmd

	section "2. Live traffic for ${TRAFFIC_S} s, then the ramp"
	srcs=$(for ((i = 0; i < CLIENTS; i++)); do client_addr "$i"; done |
		paste -sd,)
	note "$NEW_RATE new connections a second (one GET each, four per client)"
	note "and $KEEPALIVE keep-alive connections, every answer checked:"
	printf '%s$ loadclient --target %s --source %s.. --new-rate %s --keepalive %s ...%s\n' \
		"$C_BOLD" "$PROD" "$(client_addr 0)" "$NEW_RATE" "$KEEPALIVE" \
		"$C_OFF"
	mkfifo "$DIR/events" || die "fifo"
	# mawk reads a pipe in blocks unless told it is interactive
	if command -v mawk >/dev/null; then
		mawk -W interactive -v srcs="$srcs" "$RAMP_AWK" \
			<"$DIR/events" >"$DIR/rows" 2>/dev/null &
	else
		awk -v srcs="$srcs" "$RAMP_AWK" <"$DIR/events" \
			>"$DIR/rows" 2>/dev/null &
	fi
	AWK_PID=$!
	# script(1): a terminal, so the CSV arrives line by line
	cmd=$(printf '%q ' ip netns exec "$(lab_ns_client "$P")" "$LOADCLIENT" \
		--target "$PROD" --duration "$TRAFFIC_S" --source "$srcs" \
		--new-rate "$NEW_RATE" --keepalive "$KEEPALIVE" \
		--path "$LOAD_PATH" --expect-versions v1,v2 \
		--json "$DIR/load.json" --events /dev/stdout)
	script -qfec "$cmd" /dev/null </dev/null >"$DIR/events" 2>/dev/null &
	LC_PID=$!
	echo
	note "one row per second: staging's configured and measured share of"
	note "production's new clients, then per client the version that"
	note "answered its new connections (1 = v1 production, 2 = v2"
	note "staging; 12 = both, in the second the share changed), the"
	note "keep-alive connections' version, failed requests. With 16"
	note "clients a share moves in steps of 1/16: measured is what the"
	note "clients' addresses give, as slotlb slot traffic shows it"
	printf '%s %-6s %6s %9s   %-32s   %-10s %s%s\n' "$C_DIM" time share \
		measured "clients 1..$CLIENTS" keep-alive failed "$C_OFF"
}

# step N: the schedule after row N.
step()
{
	local what=${AT[$1]:-}

	[ -n "$what" ] || return 0
	if [ "$what" = swap ]; then
		section "t=${1}s: swap staging into production"
		slotlb slot swap web --slot staging --warmup-timeout 5 |
			grep -v '^warm-up'
		# the load's first whole second after the swap: on a busy
		# machine the rows shown lag the load, so the verdict goes
		# by the load's clock, not by the row the swap came after
		SWAP_DONE=$(($(date +%s) - LOAD_START + 1))
		SHARE=0
		note "production holds v2 now: every client gets it; the share"
		note "ended with the swap (docs/slotlbd.md, Traffic routing)"
		return 0
	fi
	slotlb slot traffic web --slot staging --percent "$what" >/dev/null
	SHARE=$what
}

main_loop()
{
	local n=1 line measured_share got start

	SHARE=0
	start=$(date +%s)
	LOAD_START=$start
	while [ "$n" -le "$TRAFFIC_S" ]; do
		line=$(awk -v n="$n" '$1 == n' "$DIR/rows" 2>/dev/null)
		if [ -z "$line" ]; then
			if ! kill -0 "$LC_PID" 2>/dev/null ||
				[ $(($(date +%s) - start)) -gt $((TRAFFIC_S + 15)) ]; then
				break
			fi
			sleep 0.1
			continue
		fi
		# two rows behind the load: catch up rather than ask slotlbd
		# for the measured share
		measured_share=
		awk -v n=$((n + 2)) '$1 == n { f = 1 } END { exit !f }' \
			"$DIR/rows" 2>/dev/null || measured_share=$(measured)
		row "$line" "$SHARE%" "${measured_share:--}"
		echo "$line" >>"$DIR/seen"
		step "$n"
		n=$((n + 1))
	done
	wait "$LC_PID"
	got=$?
	LC_PID=
	return "$got"
}

verdict()
{
	local failed ok flipped after rows_after ka

	section "3. Verdict"
	failed=$(sed -n 's/^  "requests_failed": \([0-9]*\),$/\1/p' "$DIR/load.json")
	ok=$(sed -n 's/^  "requests_ok": \([0-9]*\),$/\1/p' "$DIR/load.json")
	# a client on v2 that answers v1 later, before the swap (second 25)
	flipped=$(awk '$1 <= 25 { for (i = 4; i <= NF; i++) {
			if ($i == "2") on[i] = 1
			else if (on[i] && $i != "-") bad[i] = 1 } }
		END { n = 0; for (i in bad) n++; print n }' "$DIR/seen")
	after=$(awk -v from="${SWAP_DONE:-999}" '$1 >= from {
			for (i = 4; i <= NF; i++)
				if ($i != "2" && $i != "-") n++ }
		END { print n + 0 }' "$DIR/seen")
	rows_after=$(awk -v from="${SWAP_DONE:-999}" '$1 >= from' \
		"$DIR/seen" | wc -l)
	ka=$(awk '{ print $3 }' "$DIR/seen" | grep -v -- - | sort -u | paste -sd,)
	check "$ok requests answered, $failed failed" test "${failed:-1}" = 0
	check "no client left v2 while the share grew ($flipped did)" \
		test "$flipped" = 0
	check "after the swap (second ${SWAP_DONE:-?} on, $rows_after s) every client gets v2 ($after answers did not)" \
		test "$after" = 0 -a "$rows_after" -gt 0
	check "keep-alive connections stayed on v1 throughout ($ka)" \
		test "$ka" = 1
	slotlb history web | cut -c1-160
}

preflight
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ctl_trap_cleanup "$P"
trap on_exit EXIT
DIR=$(mktemp -d /tmp/demo-ramp.XXXXXX) || die "temp dir"
setup
start_traffic
main_loop || die "the load client failed"
verdict
if [ "$FAILURES" -ne 0 ]; then
	echo "${C_RED}demo-ramp: $FAILURES check(s) failed${C_OFF}"
	exit 1
fi
echo "${C_GREEN}demo-ramp: done${C_OFF}"
