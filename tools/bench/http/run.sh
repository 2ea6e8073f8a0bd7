#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP benchmarks of issue 4, parts 3 and 4, on one netns lab (4 backends:
# b1, b2 serve v1; b3, b4 serve v2), the client namespace as load source:
#
#   part 3  wrk against direct (no LB), slotlb, nftables DNAT and HAProxy,
#           interleaved round by round, ratios against direct of the same
#           round; medians, min and max over BENCH_HTTP_RUNS rounds
#   part 4  loadclient (keep-alive + new connections) against slotlb,
#           nftables and HAProxy while 20 blue/green switches run on the
#           same schedule; failures, resets, wrong versions, longest gap;
#           CSVs of requests/s per 100 ms and one PNG
#
# Root. Bounded: a watchdog ends the run after BENCH_HTTP_BUDGET_S; the
# trap removes the lab, every process in it (slotlbd, haproxy, httpd) and
# the pin dir on any exit. Results: build/bench/http/, docs/img/switch.png.
# Knobs (environment): BENCH_HTTP_RUNS (5), BENCH_HTTP_WRK_S (10),
# BENCH_HTTP_LOAD_S (30), BENCH_HTTP_PARTS ("3 4"), BENCH_HTTP_OUT,
# BENCH_HTTP_IMG. docs/PERFORMANCE.md explains the figures.
set -u
cd "$(dirname "$0")/../../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tools/bench/http/systems.sh
. tools/bench/http/systems.sh

P=hb$$
RUNS=${BENCH_HTTP_RUNS:-5}
WRK_S=${BENCH_HTTP_WRK_S:-10}
WRK_ARGS=(-t2 -c64)
LOAD_S=${BENCH_HTTP_LOAD_S:-30}
PARTS=${BENCH_HTTP_PARTS:-3 4}
OUT=${BENCH_HTTP_OUT:-build/bench/http}
IMG=${BENCH_HTTP_IMG:-docs/img/switch.png}
BUDGET_S=${BENCH_HTTP_BUDGET_S:-590}
SWITCHES=${BENCH_HTTP_SWITCHES:-20}
SWITCH_EVERY=1.2
FIRST_SWITCH_S=3
# Part 4 load: keep-alive connections pinned to a backend, plus new
# connections that each make one request and show where new traffic goes.
KEEPALIVE=8
NEW_RATE=200
# Short, so a new connection's whole life is bounded (analyze.py's guard
# is 2 x (300 + 5) ms) and an answer after that is judged by version.
TIMEOUT_MS=300
LOADCLIENT=$LAB_BUILD/tools/loadclient
SYSTEMS3=(direct slotlb nftables haproxy)
SYSTEMS4=(slotlb nftables haproxy)
HERE=tools/bench/http
STATE=
WATCHDOG=

die()
{
	hb_err "$*"
	exit 1
}

cleanup()
{
	local rc=$?

	trap - EXIT
	[ -n "$WATCHDOG" ] && kill -TERM "$WATCHDOG" 2>/dev/null
	# lab_down kills every process in the lab's namespaces, haproxy's
	# master and workers included; then nothing of ours may be left.
	ctl_cleanup_all
	if [ -n "$STATE" ]; then
		# shellcheck disable=SC2013 # pids, several per line
		for pid in $(cat "$STATE/haproxy.pids" 2>/dev/null); do
			if lab_pid_alive "$pid"; then
				hb_err "haproxy $pid outlived the lab"
				rc=1
			fi
		done
		rm -rf "$STATE"
	fi
	[ -e "$(ctl_pin_root "$P")" ] && hb_err "pin dir left" && rc=1
	exit $rc
}

# watchdog: TERM this script when the budget is spent; the trap cleans up.
start_watchdog()
{
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$BUDGET_S" &
		sp=$!
		wait "$sp"
		hb_err "over the budget of $BUDGET_S s, stopping"
		kill -TERM $$
	) &
	WATCHDOG=$!
}

now_s()
{
	date +%s
}

# fresh_version SYSTEM: the version a fresh connection gets.
fresh_version()
{
	lab_exec_client "$P" timeout 5 curl -s --noproxy '*' -m 2 \
		-H 'Connection: close' "http://$(hb_target "$1")/" |
		cut -d' ' -f1
}

remember_haproxy()
{
	local pid

	pid=$(hb_haproxy_pid "$STATE")
	[ -n "$pid" ] && echo "$pid $(hb_children "$pid")" \
		>>"$STATE/haproxy.pids"
}

preflight()
{
	local b t

	[ "$(id -u)" -eq 0 ] || die "needs root (netns, XDP)"
	for t in wrk nft haproxy gnuplot python3 curl nsenter; do
		command -v "$t" >/dev/null ||
			die "$t missing (tools/deps.sh bench)"
	done
	for b in "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
		"$LOADCLIENT"; do
		[ -e "$b" ] || die "$b missing (make all)"
	done
	# The Debian package's own service must not be running: every
	# haproxy here is one this run starts in the LB namespace.
	if pgrep -x haproxy >/dev/null; then
		echo "note: haproxy processes already running, not ours:" \
			"$(pgrep -x haproxy | tr '\n' ' ')" >&2
	fi
}

environment()
{
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpus:    $(nproc) x $(grep -m1 'model name' /proc/cpuinfo |
		cut -d: -f2 | sed 's/^ //')"
	echo "kernel:  $(uname -r)"
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at start)"
	echo "links:   veth, MTU 1500; end hosts tx/tso/gso/gro off + XDP_PASS"
	echo "wrk:     $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	echo "haproxy: $(haproxy -v | head -1 | cut -d' ' -f3)"
	echo "nft:     $(nft -v)"
	echo "commit:  $(git rev-parse --short HEAD 2>/dev/null) $(
		git status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
}

setup()
{
	local i

	lab_up "$P" "$HB_BACKENDS" >/dev/null || exit $?
	for i in 1 2; do
		lab_start_httpd "$P" $i v1 || die "httpd b$i"
	done
	for i in 3 4; do
		lab_start_httpd "$P" $i v2 || die "httpd b$i"
	done
	ctl_start "$P" || die "slotlbd did not start"
	be() { echo "$(lab_backend_addr "$1" 4):$HB_PORT"; }
	{
		ctl_cli "$P" app create web --endpoint "$HB_VIP_SLOTLB:80" &&
			ctl_cli "$P" slot create web --slot staging \
				--endpoint "$HB_VIP_STAGING:80" &&
			ctl_cli "$P" deploy web --slot production \
				--backend "$(be 1)" --backend "$(be 2)" --version v1 &&
			ctl_cli "$P" deploy web --slot staging \
				--backend "$(be 3)" --backend "$(be 4)" --version v2
	} >/dev/null || die "slotlb: app web, slots, deployments"
}

# part3: wrk, RUNS rounds; each round runs every system once, in an order
# rotated from round to round so no system always follows the same one.
part3()
{
	local r k s n=${#SYSTEMS3[@]} f v

	echo "== part 3: wrk ${WRK_ARGS[*]} -d${WRK_S}s --latency, $RUNS rounds"
	for ((r = 1; r <= RUNS; r++)); do
		for ((k = 0; k < n; k++)); do
			s=${SYSTEMS3[$(((k + r - 1) % n))]}
			f=$OUT/wrk-$s-$r.txt
			hb_on "$P" "$s" "$STATE" || die "$s: cannot switch on"
			[ "$s" = haproxy ] && remember_haproxy
			v=$(fresh_version "$s")
			[ "$v" = v1 ] || die "$s: answers '$v', not v1"
			timeout $((WRK_S + 20)) ip netns exec "$(lab_ns_client "$P")" \
				wrk "${WRK_ARGS[@]}" -d"${WRK_S}s" --latency \
				"http://$(hb_target "$s")/" >"$f" 2>&1 ||
				die "$s: wrk failed: $(tail -3 "$f")"
			hb_off "$P" "$s" "$STATE"
			printf '   round %d %-9s %s\n' "$r" "$s" \
				"$(grep -h 'Requests/sec' "$f")"
		done
	done
	echo
	python3 "$HERE/analyze.py" wrk "$OUT" "$RUNS" "${SYSTEMS3[@]}" |
		tee "$OUT/throughput.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || die "analyze wrk"
}

# part4: the same load and switch schedule against each system.
part4()
{
	local s d v

	echo "== part 4: loadclient --keepalive $KEEPALIVE --new-rate" \
		"$NEW_RATE --duration $LOAD_S, $SWITCHES switches every" \
		"$SWITCH_EVERY s from t=$FIRST_SWITCH_S s"
	for s in "${SYSTEMS4[@]}"; do
		d=$OUT/switch-$s
		rm -rf "$d"
		mkdir -p "$d"
		hb_on "$P" "$s" "$STATE" || die "$s: cannot switch on"
		[ "$s" = haproxy ] && remember_haproxy
		v=$(fresh_version "$s")
		[ "$v" = v1 ] || die "$s: answers '$v' before the switches, not v1"
		echo "   $s: $(date +%T) load and switches..."
		timeout $((LOAD_S + 60)) python3 "$HERE/switch_run.py" \
			--out "$d" --switches "$SWITCHES" --every $SWITCH_EVERY \
			--first $FIRST_SWITCH_S --versions v1,v2 \
			--switch-cmd "$HERE/systems.sh switch $P $s $STATE" \
			-- nsenter --net="/run/netns/$(lab_ns_client "$P")" \
			"$LOADCLIENT" --target "$(hb_target "$s")" \
			--keepalive $KEEPALIVE --new-rate $NEW_RATE \
			--duration "$LOAD_S" --timeout-ms $TIMEOUT_MS \
			--interval-ms 100 --expect-versions v1,v2 --max-gap \
			--json "$d/load.json" --events "$d/events.csv" \
			2>"$d/driver.err" ||
			echo "   $s: driver: $(tr '\n' ' ' <"$d/driver.err")"
		if [ ! -s "$d/load.json" ] || [ ! -s "$d/switches.csv" ]; then
			die "$s: no results: $(cat "$d/driver.err")"
		fi
		[ "$s" = haproxy ] && remember_haproxy
		hb_off "$P" "$s" "$STATE"
	done
	echo
	python3 "$HERE/analyze.py" switch "$OUT" "${SYSTEMS4[@]}" |
		tee "$OUT/switch.txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || die "analyze switch"
	mkdir -p "$(dirname "$IMG")"
	gnuplot -e "datadir='$OUT'; outfile='$IMG'" "$HERE/switch.gp" ||
		die "gnuplot"
	echo "plot: $IMG; CSVs: $OUT/switch-*-rps.csv"
}

preflight
ctl_trap_cleanup "$P"
trap cleanup EXIT
start_watchdog
STATE=$(mktemp -d /tmp/slotlb-bench-http.XXXXXX) || die "mktemp"
mkdir -p "$OUT" || die "$OUT"
t_start=$(now_s)
environment | tee "$OUT/env.txt"
setup
case " $PARTS " in *" 3 "*) part3 ;; esac
case " $PARTS " in *" 4 "*) part4 ;; esac
echo "done in $(($(now_s) - t_start)) s; raw output in $OUT"
