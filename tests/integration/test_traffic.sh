#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (the measured share counts one window of 30-60 s)
#
# Traffic routing through the CLI and slotlbd, in a real lab with real
# HTTP servers (production v1 on b1, staging v2 on b2) and 60 clients:
# source addresses of the client namespace, played by the load client
# (--source) and by a small Python client.
#
#  1. staging=20: each client gets one version on every new connection,
#     the one `slot traffic --lookup` predicts, and the daemon's measured
#     share counts exactly the flows the clients saw;
#  2. an opt-in client (IPv4 and IPv6) gets staging at 0% while the
#     others get production; an opted-out client stays on production at
#     100%;
#  3. under load (keep-alive and new connections), the share ramps
#     0 -> 20 -> 50 -> 100 -> 0: no request fails, new connections
#     follow each step, no client leaves staging while the share grows,
#     keep-alive connections stay on the backend they started on;
#  4. a swap ends staging's share (docs/slotlbd.md): afterwards every
#     client gets the new production, and the opt-in, which stays on the
#     slot name, gets what staging holds now;
#  5. a restart restores the rules from the database, ranges and all,
#     even after the pinned element lost them.
#
# Functions run through check look unreachable to shellcheck.
# shellcheck disable=SC2317
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=tt$$
CLIENTS=60
LOADCLIENT=$LAB_BUILD/tools/loadclient
PROD=198.18.100.1
PROD6=fd00:5107:100::1
OPTIN4=198.18.0.250
OPTIN6=fd00:5107::250
T0=$(now_ms)

client_addr()
{
	echo "198.18.0.$((100 + $1))"
}

ALL=$(for ((i = 0; i < CLIENTS; i++)); do client_addr "$i"; done | paste -sd,)

# lookup: "ADDR SLOT" per client, as the daemon predicts from the
# routing element the data path holds. (Tables and awk rather than JSON
# and Python where it is simple: Python takes 1-2 s to start on a busy
# 2-core machine.)
lookup()
{
	cli slot traffic web --lookup "$ALL" | awk 'NR > 1 { print $1, $2 }'
}

# share SLOT: its configured share as `slot traffic` shows it ("20%").
share()
{
	cli slot traffic web | awk -v s="$1" '$1 == s { print $2 }'
}

# window_flows: new flows in the measured window, as `slot traffic`
# says them (0 if none yet).
window_flows()
{
	cli slot traffic web |
		sed -n 's/^measured over .*: \([0-9]*\) new flows.*/\1/p' |
		grep . || echo 0
}

# One process in the client namespace for many connections: for each
# ADDR on stdin, N new connections from ADDR to HOST:80, one GET each;
# prints "ADDR LABELS" (the distinct versions answered, comma-joined).
# shellcheck disable=SC2016
GET_PY='
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for line in sys.stdin:
    addr = line.split()[0]
    labels = set()
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.bind((addr, 0))
            s.connect((host, 80))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            labels.add(data.split(b"\r\n\r\n", 1)[1].decode().split()[0])
        except (OSError, IndexError) as e:
            labels.add("error:" + type(e).__name__)
        finally:
            s.close()
    print(addr, ",".join(sorted(labels)), flush=True)
'

# get HOST N ADDR...: N connections from each ADDR; "ADDR LABELS" lines.
get()
{
	local host=$1 n=$2

	shift 2
	printf '%s\n' "$@" | lab_exec_client "$P" python3 -c "$GET_PY" "$host" "$n"
}

# load JSON EVENTS SECONDS [ARGS...]: the load client on production from
# every client address, in the background (its pid in LOAD_PID).
load()
{
	lab_exec_client "$P" "$LOADCLIENT" --target "$PROD:80" \
		--duration "$3" --source "$ALL" --expect-versions v1,v2 \
		--timeout-ms 3000 --json "$1" --events "$2" "${@:4}" \
		>/dev/null 2>"$STATE/load.err" &
	LOAD_PID=$!
}

# json FILE EXPR: a Python expression over the JSON document j.
json()
{
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}


lab_check_caps || exit 77
need_tools curl python3 nsenter
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD" "$LOADCLIENT"
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
for ((i = 0; i < CLIENTS; i++)); do
	echo "addr add $(client_addr "$i")/24 dev c0"
done | ip -n "$(lab_ns_client "$P")" -batch - || die "client addresses"
ip -n "$(lab_ns_client "$P")" -batch - <<EOF || die "opt-in addresses"
addr add $OPTIN4/24 dev c0
addr add $OPTIN6/64 dev c0 nodad
EOF
# a short drain interval: the measured share is sampled at each
ctl_start "$P" --drain-interval 100 || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint "$PROD:80" --endpoint "[$PROD6]:80" &&
		cli slot create web --slot staging --endpoint 198.18.100.2:80 &&
		cli deploy web --slot production --backend "$(be 1)" \
			--backend "[$(lab_backend_addr 1 6)]:8080" --version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" \
			--backend "[$(lab_backend_addr 2 6)]:8080" --version v2
} >/dev/null || die "seed"

# --- 1. staging=20: sticky per client, as predicted, measured ----------
echo "# [$(($(now_ms) - T0)) ms] 1. staging=20: sticky per client, as predicted, measured"
cli slot traffic web --distribution staging=20 >/dev/null || die "20%"
lookup >"$STATE/predicted"
S20=$(awk '$2 == "staging" { print $1 }' "$STATE/predicted" | sort)
n20=$(wc -w <<<"$S20")
load "$STATE/split.json" "$STATE/split.csv" 3 --new-rate 150
wait "$LOAD_PID" || die "load client: $(cat "$STATE/load.err")"
python3 - "$STATE/split.json" "$STATE/predicted" >"$STATE/split.out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
want = dict(l.split() for l in open(sys.argv[2]))
sticky = wrong = v2 = 0
for addr, s in j["by_source"].items():
    seen = set(s["new_conn_versions"])
    sticky += len(seen) == 1
    label = {"production": "v1", "staging": "v2"}[want[addr]]
    wrong += seen != {label}
    v2 += s["new_conn_versions"].get("v2", 0)
print(sticky, wrong, j["requests_ok"], j["requests_failed"] + j["connect_errors"], v2,
      j["abandoned_at_end"])
EOF
# abandoned: connections the run's end cut short (on a loaded machine);
# their SYNs may have reached the balancer, which counted them
read -r sticky wrong ok bad v2 abandoned <"$STATE/split.out"
# the daemon samples its counters every drain interval: wait for one
# (each tick walks the whole flow table first: on a loaded machine one
# took more than the 5 s this waited before)
waited=$(now_ms)
while [ "$(window_flows)" -lt "$ok" ] && [ $(($(now_ms) - waited)) -lt 30000 ]; do
	sleep 0.1
done
echo "# the window counted them after $(($(now_ms) - waited)) ms"
cli -o json slot traffic web >"$STATE/traffic.json" || die "slot traffic"
read -r m_total m_v2 m_share < <(json "$STATE/traffic.json" '
"%d %d %s" % ((j["window"]["new_flows"],) + next(
    (s["new_flows"], s["measured"]) for s in j["slots"]
    if s["name"] == "staging"))')
echo "# 20%: $n20 of $CLIENTS clients predicted on staging; $ok new connections ($bad failed), $v2 answered by v2; slotlbd measured $m_share% ($m_v2 of $m_total new flows)"
check "every client got one version on all its new connections ($sticky of $CLIENTS)" \
	test "$sticky" -eq $CLIENTS
check "every client got the version --lookup predicts ($wrong off)" \
	test "$wrong" -eq 0
check "no request failed ($bad)" test "$bad" -eq 0
check "some clients on staging, most on production ($n20 of $CLIENTS, 20% of 60 is 12)" \
	test "$n20" -ge 4 -a "$n20" -le 24
check "slotlbd counted every new flow ($m_total; $ok answered, $abandoned cut short by the run's end)" \
	test "$m_total" -ge "$ok" -a "$m_total" -le $((ok + abandoned))
check "slotlbd's measured share counts the flows v2 answered ($m_v2 of $v2)" \
	test "$m_v2" -ge "$v2" -a "$m_v2" -le $((v2 + abandoned))

# --- 2. opt-in at 0%, opt-out at 100% ----------------------------------
echo "# [$(($(now_ms) - T0)) ms] 2. opt-in at 0%, opt-out at 100%"
cli slot traffic web --slot staging --percent 0 \
	--opt-in "$OPTIN4/32,$OPTIN6/128" >/dev/null || die "opt-in"
others=$(for i in 0 1 2 3 4 5 6 7 8 9; do client_addr "$i"; done)
# shellcheck disable=SC2086 # one address per word
got4=$(get "$PROD" 2 "$OPTIN4" $others | awk '{ print $2 }' | tr '\n' ' ')
got6=$(get "$PROD6" 2 "$OPTIN6" | awk '{ print $2 }')
echo "# 0% with opt-ins: $OPTIN4 -> ${got4%% *}, $OPTIN6 -> $got6, 10 others -> ${got4#* }"
check "the IPv4 opt-in client gets staging (v2) at 0%" test "${got4%% *}" = v2
check "the IPv6 opt-in client gets staging (v2) at 0%" test "$got6" = v2
check "10 other clients get production (v1) at 0%" \
	test "$(tr ' ' '\n' <<<"${got4#* }" | grep -cx v1)" -eq 10
out=$(client_addr 1)
cli slot traffic web --distribution staging=100 >/dev/null &&
	cli slot traffic web --slot production --opt-in "$out/32" >/dev/null ||
	die "opt-out"
# shellcheck disable=SC2086
got=$(get "$PROD" 2 "$out" $others | awk '{ print $2 }' | tr '\n' ' ')
echo "# 100% with $out opted out: $out -> ${got%% *}, others -> ${got#* }"
check "the opted-out client stays on production (v1) at 100%" \
	test "${got%% *}" = v1
check "the 9 other clients get staging (v2) at 100%" \
	test "$(tr ' ' '\n' <<<"${got#* }" | grep -c v2)" -eq 9
cli slot traffic web --clear >/dev/null || die "clear"
check "--clear leaves no rule in the data path" \
	test -z "$(routing_show | grep -E '^(split|audience)')"

# --- 3. the ramp under load ---------------------------------------------
echo "# [$(($(now_ms) - T0)) ms] 3. the ramp under load"
# keep-alive answers paced to ~50 ms each (two writes), or 12 connections would take
# a core of a shared machine
load "$STATE/ramp.json" "$STATE/ramp.csv" 11 --keepalive 12 --new-rate 150 \
	--path '/stream?bytes=1200&rate=20000'
: >"$STATE/steps"
for step in 20 50 100 0; do
	sleep 2
	a=$(date +%s%3N)
	cli slot traffic web --slot staging --percent "$step" >/dev/null ||
		die "ramp to $step%"
	echo "$step $a $(date +%s%3N)" >>"$STATE/steps"
done
wait "$LOAD_PID" || die "load client: $(cat "$STATE/load.err")"
python3 - "$STATE/ramp.json" "$STATE/ramp.csv" "$STATE/steps" "$S20" \
	>"$STATE/ramp.out" <<'EOF'
import csv, json, sys
j = json.load(open(sys.argv[1]))
start = j["start_wall_ms"]
steps = [tuple(int(x) for x in l.split()) for l in open(sys.argv[3])]
s20 = set(sys.argv[4].split())
# phases: (share, from_ms, to_ms) on the load's clock; a response that
# completed while a change was under way (or 300 ms after) is left out
phases, t, share = [], 0, 0
for pct, a, b in steps:
    phases.append((share, t, a - start))
    t, share = b - start + 300, pct
phases.append((share, t, 10 ** 9))
per = {p: {} for p in range(len(phases))}
ka = set()
for r in csv.DictReader(open(sys.argv[2])):
    if r["kind"] == "keepalive":
        ka.add(r["version"])
        continue
    t = int(r["t_ms"])
    for i, (pct, a, b) in enumerate(phases):
        if a <= t < b:
            per[i].setdefault(r["source"], set()).add(r["version"])
out = []
for i, (pct, a, b) in enumerate(phases):
    clients = per[i]
    on2 = {c for c, v in clients.items() if v == {"v2"}}
    mixed = sum(len(v) > 1 for v in clients.values())
    out.append("%d:%d/%d:%d" % (pct, len(on2), len(clients), mixed))
    if pct == 20:
        kept20 = on2 == s20 & set(clients)
    if pct == 50:
        kept50 = s20 & set(clients) <= on2
print(j["requests_ok"], j["requests_failed"], j["connect_errors"],
      j["resets"] + j["io_errors"], ",".join(sorted(ka)),
      int(kept20), int(kept50), " ".join(out))
EOF
read -r ok failed cerr resets ka kept20 kept50 phases <"$STATE/ramp.out"
# What the next person needs if the ramp lost a request (seen in 2 of 3
# fresh-clone CI runs, 1 reset in ~4,250 requests, never when run alone):
# the failed rows, the steps, and the data path's non-zero counters.
if [ "$failed" != 0 ] || [ "$resets" != 0 ] || [ "$ka" != v1 ]; then
	echo "# ramp steps (percent, start ms, end ms): $(paste -sd' ' "$STATE/steps")"
	echo "# load start (wall ms): $(json "$STATE/ramp.json" 'j["start_wall_ms"]')"
	awk -F, 'NR > 1 && $4 != 1 { print "# failed row: " $0 }' \
		"$STATE/ramp.csv" | head -20
	awk -F, '$2 == "keepalive" && $3 == "v2" { print "# keep-alive on v2: " $0 }' \
		"$STATE/ramp.csv" | head -3
	ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
		stats 2>&1 | awk '$2 > 0 { print "# data path: " $0 }'
fi
echo "# ramp 0 -> 20 -> 50 -> 100 -> 0 under load: $ok requests ok, $failed failed, $cerr connect errors, $resets resets; keep-alive answered by $ka; per phase share:clients-on-v2/clients-seen:clients-with-both: $phases"
check "no request failed during the ramp ($failed failed, $cerr connect errors, $resets resets)" \
	test "$failed" -eq 0 -a "$cerr" -eq 0 -a "$resets" -eq 0
check "keep-alive connections stayed on production's backend (v1) throughout" \
	test "$ka" = v1
check "every client got one version per phase" \
	test -z "$(tr ' ' '\n' <<<"$phases" | awk -F: '$3 != 0')"
check "0%: no client on v2; 100%: every client; back to 0%: none" \
	test -z "$(tr ' ' '\n' <<<"$phases" | awk -F'[:/]' '
		($1 == 0 && $2 != 0) || ($1 == 100 && $2 != $3)')"
check "20%: the clients --lookup predicted, and only them" test "$kept20" = 1
check "50%: every client on staging at 20% still on it (none went back)" \
	test "$kept50" = 1

# --- 4. a swap ends the share; opt-ins stay on the slot name ------------
echo "# [$(($(now_ms) - T0)) ms] 4. a swap ends the share; opt-ins stay on the slot name"
cli slot traffic web --slot staging --percent 50 --opt-in "$OPTIN4/32" \
	>/dev/null || die "50% before the swap"
swap=$(cli slot swap web --slot staging --warmup-timeout 5 \
	--warmup-retries 2) || die "swap: $swap"
echo "# swap: $(tail -1 <<<"$swap")"
check "the swap says it reset staging's share" \
	grep -q '^note: traffic share of staging (50%) reset' <<<"$swap"
check "staging's share is 0 after the swap" test "$(share staging)" = 0%
check "the data path holds no share after the swap" \
	test -z "$(routing_show | grep '^split')"
check "the history entry of the swap names the reset" \
	grep -q 'traffic share of staging (50%) reset' \
	<<<"$(cli -o json history web)"
# shellcheck disable=SC2086
got=$(get "$PROD" 1 $(tr ',' ' ' <<<"$ALL") | awk '{ n[$2]++ }
	END { for (v in n) printf "%s%d %s", s++ ? ", " : "", n[v], v }')
optin=$(get "$PROD" 2 "$OPTIN4" | awk '{ print $2 }')
echo "# after the swap: $CLIENTS clients -> $got; opt-in $OPTIN4 -> $optin"
check "every client gets the new production (v2), none the old one" \
	test "$got" = "$CLIENTS v2"
check "the opt-in stayed on staging, which holds v1 now" test "$optin" = v1

# --- 5. a restart restores the rules, ranges and all --------------------
echo "# [$(($(now_ms) - T0)) ms] 5. a restart restores the rules, ranges and all"
cli slot traffic web --distribution staging=30 >/dev/null &&
	cli slot traffic web --slot staging --percent 35 >/dev/null ||
	die "rules before the restart"
want=$(routing_show)
ctl_stop "$P" || die "stop slotlbd"
ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	routing traffic 0 --from 0 --clear >/dev/null || die "dpctl clear"
wiped=$(routing_show)
ctl_start "$P" --drain-interval 100 || die "slotlbd did not restart"
have=$(routing_show)
echo "# before: $(grep -E '^(split|audience)' <<<"$want" | paste -sd';')"
echo "# wiped:  $(grep -cE '^(split|audience)' <<<"$wiped") rules; after the restart: $(grep -E '^(split|audience)' <<<"$have" | paste -sd';')"
check "the pinned element had lost the rules while slotlbd was down" \
	test -z "$(grep -E '^(split|audience)' <<<"$wiped")"
check "the restart wrote back the very same rules and ranges" \
	test "$have" = "$want"

# --- nothing lost --------------------------------------------------------
echo "# [$(($(now_ms) - T0)) ms] nothing lost"
drops=$(ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	stats 2>/dev/null | awk '/drop_/ && $2 > 0 { printf "%s=%s ", $1, $2 }')
check "no packet dropped by the data path (${drops:-none})" test -z "$drops"

took=$(($(now_ms) - T0))
if [ "$failures" -ne 0 ]; then
	echo "FAIL: traffic: $failures check(s) failed (${took} ms)"
	exit 1
fi
echo "PASS: traffic (${took} ms)"
