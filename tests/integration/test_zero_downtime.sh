#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (measures time: swap latency and gaps under load)
#
# Zero downtime: 50 swaps back and forth under load lose nothing. The
# load client keeps 16 keep-alive connections busy and opens 100 new ones
# a second against production while the CLI swaps v1 (2 backends) and v2
# (2 backends) with warm-up on; a slow 20 MB download (16 s) started
# before the first swap must finish on the backend it started on, byte
# for byte. After each swap, fresh connections must get the version that
# swap put into production. Nothing may fail, reset or be refused.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=zd$$
LOADCLIENT=$LAB_BUILD/tools/loadclient
VIP=$(lab_vip 1 4)
SWAPS=${ZD_SWAPS:-50}
# Swaps start every SWAP_EVERY_MS, so they spread over the load and the
# download instead of racing through in a second.
SWAP_EVERY_MS=200
# The load runs until the swaps are over (stopped by SIGTERM, which makes
# the load client write its summary); LOAD_MAX_S only bounds it, since a
# busy machine (other labs running) took 60-70 s for the 50 swaps where
# a quiet one takes 25-35 s.
LOAD_MAX_S=150
KEEPALIVE=16
NEW_RATE=100
DL_BYTES=20000000
DL_RATE=1250000
OUT=$(mktemp -d /tmp/slotlb-zd.XXXXXX)




# jget EXPR: EXPR over the load client's summary d.
jget()
{
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$OUT/load.json" "$1"
}

# fresh_version: the version a new connection to production gets.
fresh_version()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 2 \
		-H 'Connection: close' "http://$VIP/" | cut -d' ' -f1
}


require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
	"$LOADCLIENT"
need_tools curl python3

ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 4 || exit $?
for i in 1 2; do
	lab_start_httpd "$P" $i v1 || exit 1
done
for i in 3 4; do
	lab_start_httpd "$P" $i v2 || exit 1
done
ctl_start "$P" || exit 1
need "attach pub0, be1..be4" ctl_attach_all "$P" 4
need "app web, slot staging" eval "ctl_cli $P app create web \
	--endpoint $VIP:80 >/dev/null && ctl_cli $P slot create web \
	--slot staging --endpoint $(lab_vip 2 4):80 >/dev/null"
be() { echo "$(lab_backend_addr "$1" 4):$LAB_HTTPD_PORT"; }
need "deploy v1 (b1, b2) to production, v2 (b3, b4) to staging" eval \
	"ctl_cli $P deploy web --slot production --backend $(be 1) \
	--backend $(be 2) --version v1 >/dev/null && ctl_cli $P deploy web \
	--slot staging --backend $(be 3) --backend $(be 4) --version v2 \
	>/dev/null"
need "production answers v1 before the swaps" [ "$(fresh_version)" = v1 ]

# --- load and the slow download ------------------------------------------
lab_exec_client "$P" timeout $((LOAD_MAX_S + 20)) "$LOADCLIENT" \
	--target "$VIP:80" --keepalive $KEEPALIVE --new-rate $NEW_RATE \
	--duration $LOAD_MAX_S --expect-versions v1,v2 --max-gap \
	--json "$OUT/load.json" 2>"$OUT/load.err" &
load_pid=$!
t_load=$(now_ms)

lab_exec_client "$P" timeout 40 curl -s --noproxy '*' -m 35 \
	-D "$OUT/dl.head" -o "$OUT/dl.body" \
	-w '%{http_code} %{num_connects} %{size_download}' \
	"http://$VIP/stream?bytes=$DL_BYTES&rate=$DL_RATE" >"$OUT/dl.w" &
dl_pid=$!
for ((try = 0; try < 50; try++)); do
	grep -qi '^x-slotlb-backend:' "$OUT/dl.head" 2>/dev/null && break
	sleep 0.1
done
dl_backend=$(grep -i '^x-slotlb-backend:' "$OUT/dl.head" | tr -d '\r' |
	awk '{ print $2 }')
dl_version=$(grep -i '^x-slotlb-version:' "$OUT/dl.head" | tr -d '\r' |
	awk '{ print $2 }')
need "slow download started on a v1 backend ($dl_backend, $dl_version)" \
	[ "$dl_version" = v1 ]
sleep 1

# --- 50 swaps -------------------------------------------------------------
swap_fail=0
fresh_bad=0
durations=()
swap_end=()
t_swaps=$(now_ms)
for ((k = 1; k <= SWAPS; k++)); do
	t0=$(now_ms)
	timeout 30 env SLOTLB_SOCKET="$(ctl_socket "$P")" "$CTL_CLI" \
		slot swap web --slot staging >"$OUT/swap.out" 2>&1
	rc=$?
	t1=$(now_ms)
	durations+=($((t1 - t0)))
	swap_end+=("$t1")
	if [ $rc -ne 0 ]; then
		swap_fail=$((swap_fail + 1))
		echo "   swap $k: exit $rc: $(tr '\n' ' ' <"$OUT/swap.out")"
	elif [ $((t1 - t0)) -gt 500 ]; then
		# Slow but fine: show where the time went.
		echo "   swap $k took $((t1 - t0)) ms: $(tr '\n' ' ' <"$OUT/swap.out")"
	fi
	want=v1
	[ $((k % 2)) -eq 1 ] && want=v2
	for n in 1 2; do
		got=$(fresh_version)
		if [ "$got" != "$want" ]; then
			fresh_bad=$((fresh_bad + 1))
			echo "   swap $k: new connection $n got '$got', want $want"
		fi
	done
	# Pace against absolute times so the swaps cover the download.
	next=$((t_swaps + k * SWAP_EVERY_MS))
	left=$((next - $(now_ms)))
	[ $left -gt 0 ] && sleep "$(printf '0.%03d' $left)"
done
t_swaps_end=$(now_ms)
check "$SWAPS swaps, each exit 0 ($swap_fail failed)" [ $swap_fail -eq 0 ]
check "after each swap 2 new connections got the new version ($fresh_bad wrong)" \
	[ $fresh_bad -eq 0 ]

# --- the download ---------------------------------------------------------
wait $dl_pid
dl_rc=$?
t_dl_end=$(now_ms)
read -r dl_code dl_conns dl_size <"$OUT/dl.w"
want_sum=$("$LAB_HTTPD" --gen-body $DL_BYTES | sha256sum | cut -d' ' -f1)
got_sum=$(sha256sum "$OUT/dl.body" | cut -d' ' -f1)
check "download: curl exit $dl_rc, status $dl_code, $dl_size bytes" \
	[ "$dl_rc/$dl_code/$dl_size" = "0/200/$DL_BYTES" ]
check "download: one connection ($dl_conns) to $dl_backend for the whole body" \
	[ "$dl_conns" = 1 ]
check "download: sha256 equals httpd --gen-body $DL_BYTES" \
	[ "$got_sum" = "$want_sum" ]
during=0
for t in "${swap_end[@]}"; do
	[ "$t" -lt "$t_dl_end" ] && during=$((during + 1))
done
check "download in flight across $during of ${#swap_end[@]} swaps (at least 30)" \
	[ $during -ge 30 ]

# --- the load -------------------------------------------------------------
# One more second of load after the last swap, then stop it.
sleep 1
load_alive=0
pkill -TERM -f -- "--json $OUT/load.json" && load_alive=1
wait $load_pid
load_rc=$?
[ -s "$OUT/load.json" ] || load_rc="$load_rc, no summary"
need "load client: exit $load_rc" [ "$load_rc" = 0 ]
check "load outlasted the swaps (still running after the last one)" \
	[ $load_alive = 1 ]
ok=$(jget 'd["requests_ok"]')
failed=$(jget 'd["requests_failed"]')
check "zero failed requests ($failed; $(jget 'd["failed_by_reason"]'))" \
	[ "$failed" = 0 ]
check "zero connect errors ($(jget 'd["connect_errors"]'))" \
	[ "$(jget 'd["connect_errors"]')" = 0 ]
check "zero resets ($(jget 'd["resets"]')) and io errors ($(jget 'd["io_errors"]'))" \
	[ "$(jget 'd["resets"] + d["io_errors"]')" = 0 ]
check "every body intact: no truncated or unparsable answer" \
	[ "$(jget 'd["failed_by_reason"].get("truncated", 0) + d["failed_by_reason"].get("parse", 0)')" = 0 ]
check "load ran: $ok requests ok (at least 2000)" [ "$ok" -ge 2000 ]
check "new connections saw both versions during the run" \
	[ "$(jget 'sorted(set(v for b in d["timeline"] for v, n in b["new_conn_versions"].items() if n))')" = "['v1', 'v2']" ]
new_v2=$(jget 'sum(b["new_conn_versions"].get("v2", 0) for b in d["timeline"])')
check "keep-alive connections stayed pinned to v1 ($(jget 'd["versions"].get("v2", 0)') v2 answers, all $new_v2 on new connections)" \
	[ "$(jget 'd["versions"].get("v2", 0)')" = "$new_v2" ]

# --- figures --------------------------------------------------------------
sorted=$(printf '%s\n' "${durations[@]}" | sort -n)
n=${#durations[@]}
echo "figures: requests ok $ok, failed $failed, per version $(jget 'd["versions"]'), by kind $(jget 'd["by_kind"]')"
echo "figures: longest gap $(jget 'd["longest_gap_ms"]') ms at $(jget 'd["longest_gap_start_ms"]') ms, keep-alive reconnects $(jget 'd["keepalive_reconnects"]'), abandoned at end $(jget 'd["abandoned_at_end"]')"
echo "figures: $n swaps in $((t_swaps_end - t_swaps)) ms; CLI call min $(head -1 <<<"$sorted") ms, median $(sed -n "$(((n + 1) / 2))p" <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms"
echo "figures: download $DL_BYTES bytes from $dl_backend in $((t_dl_end - t_load)) ms"
if [ $failures -ne 0 ]; then
	echo "FAIL: zero downtime: $failures check(s) failed"
	ctl_exec_lb "$P" "$LAB_BUILD/tools/dpctl" --pin-root "$(ctl_pin_root "$P")" \
		stats | grep -v ' 0 packets'
	cp "$OUT/load.json" "/tmp/slotlb-zd-$P.json" 2>/dev/null &&
		echo "load summary kept in /tmp/slotlb-zd-$P.json"
	exit 1
fi
echo "PASS: zero downtime"
