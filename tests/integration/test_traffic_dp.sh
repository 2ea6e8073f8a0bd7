#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Traffic routing in a real lab, driven by dpctl alone (no controller):
# real HTTP clients from 40 IPv4 and 40 IPv6 source addresses reach one
# endpoint per family whose production slot holds v1 (b1) and staging
# v2 (b2). With 25% to staging each client gets one version on every
# connection, the one `dpctl routing lookup` (the C model) predicts; an
# opt-in client gets v2 at 0% while the others get v1; and a download in
# flight keeps its backend, byte for byte, through a ramp to 100%, a
# swap of the deployments and a clear.
#
# Functions run through check look unreachable to shellcheck.
# shellcheck disable=SC2317
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/dp_lib.sh
. tests/integration/dp_lib.sh

P=tr$$
CLIENTS=40
STREAM_BYTES=4000000
STREAM_RATE=100000

# client_addr I FAMILY: the I-th extra client address (0-based).
client_addr()
{
	if [ "$2" = 6 ]; then
		printf 'fd00:5107::%x\n' $((0x100 + $1))
	else
		echo "198.18.0.$((100 + $1))"
	fi
}

# get SRC FAMILY [N]: N (default 1) new connections from SRC, one curl
# (the server closes each); prints their version labels, one a line.
get()
{
	local urls=() k

	for ((k = 0; k < ${3:-1}; k++)); do
		urls+=("$(dp_url 1 "$2")")
	done
	lab_exec_client "$P" "${DP_CURL[@]}" -m 10 --interface "$1" \
		-H 'Connection: close' "${urls[@]}" | cut -d' ' -f1
}

# predicted FAMILY: "ADDR VERSION" per client, as the C model puts each
# on production's endpoint (slot 0 -> v1, slot 1 -> v2).
predicted()
{
	local fam=$1 i addrs=()

	for ((i = 0; i < CLIENTS; i++)); do
		addrs+=("$(client_addr "$i" "$fam")")
	done
	dp "$P" routing lookup 0 0 "${addrs[@]}" | awk '
		$3 == 0 && $5 == 1 { print $1, "v1"; next }
		$3 == 1 && $5 == 2 { print $1, "v2"; next }
		{ print $1, "?" }'
}

# One process in the client namespace for all clients' connections
# (entering the namespace costs ~0.1 s a time on a busy machine): for
# each "ADDR WANT" line on stdin, N connections from ADDR to the URL's
# host and port, each one GET with "Connection: close"; prints "ADDR
# WANT LABELS" with the distinct version labels answered.
# shellcheck disable=SC2016
GET_PY='
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for line in sys.stdin:
    addr, want = line.split()
    labels = set()
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.bind((addr, 0))
            s.connect((host, port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            body = data.split(b"\r\n\r\n", 1)[1].decode()
            labels.add(body.split()[0])
        except (OSError, IndexError) as e:
            labels.add("error:" + type(e).__name__)
        finally:
            s.close()
    print(addr, want, ",".join(sorted(labels)), flush=True)
'

# sticky_clients FAMILY: every client, 3 connections each; prints
# "SAME ON_V2 MISMATCHES" (clients answered by one version throughout,
# those on v2, clients whose version is not the predicted one).
sticky_clients()
{
	local fam=$1 a want got same=0 on2=0 bad=0

	while read -r a want got; do
		[ "$got" = v1 ] || [ "$got" = v2 ] && same=$((same + 1))
		[ "$got" = v2 ] && on2=$((on2 + 1))
		[ "$got" = "$want" ] || bad=$((bad + 1))
	done < <(predicted "$fam" |
		lab_exec_client "$P" python3 -c "$GET_PY" "$(lab_vip 1 "$fam")" 80 3)
	echo "$same $on2 $bad"
}

dp_preflight
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
CNS=$(lab_ns_client "$P")
for ((i = 0; i < CLIENTS; i++)); do
	echo "addr add $(client_addr "$i" 4)/24 dev c0"
	echo "addr add $(client_addr "$i" 6)/64 dev c0 nodad"
done | ip -n "$CNS" -batch - || die "client addresses"

dp "$P" attach --role public pub0 --role backend be1 be2 || die "dpctl attach"
dp_backends "$P" 2 || die "dpctl backend set"
# Dual-stack deployments: v1 = b1 over both families, v2 = b2.
# shellcheck disable=SC2015 # die exits
dp "$P" deployment publish 1 v1 1 101 &&
	dp "$P" deployment publish 2 v2 2 102 &&
	dp "$P" routing set 0 1 2 &&
	dp "$P" endpoint add "$(lab_vip 1 4):80/tcp" --app 0 --slot 0 --id 1 &&
	dp "$P" endpoint add "[$(lab_vip 1 6)]:80/tcp" --app 0 --slot 0 --id 2 ||
	die "dpctl setup"

# --- 1. 25% to staging: sticky per client, as predicted ----------------
dp "$P" routing traffic 0 --from 0 --distribution 1=25 ||
	die "dpctl routing traffic"
echo "# $(dp "$P" routing show 0 | tr '\n' ';')"
for fam in 4 6; do
	t0=$(now_ms)
	read -r same on2 bad <<<"$(sticky_clients "$fam")"
	echo "# IPv$fam, 25% to staging: $CLIENTS clients x 3 connections in $(($(now_ms) - t0)) ms: $on2 on v2, $same sticky, $bad not as predicted"
	check "IPv$fam: every client got one version on all 3 connections ($same of $CLIENTS)" \
		test "$same" -eq $CLIENTS
	check "IPv$fam: every client got the version dpctl routing lookup predicts ($bad off)" \
		test "$bad" -eq 0
	check "IPv$fam: some clients on v2 and some on v1 ($on2 of $CLIENTS on v2)" \
		test "$on2" -gt 0 -a "$on2" -lt $CLIENTS
done

# --- 2. opt-in at 0% ----------------------------------------------------
in4=$(client_addr 37 4)
in6=$(client_addr 37 6)
dp "$P" routing traffic 0 --from 0 --distribution 1=0 \
	--audience "1=$in4/32,$in6/128" || die "dpctl audience"
for fam in 4 6; do
	a=$(client_addr 37 "$fam")
	got=$(for i in 37 0 1 2 3 4 5 6 7 8 9; do
		echo "$(client_addr "$i" "$fam") -"
	done | lab_exec_client "$P" python3 -c "$GET_PY" "$(lab_vip 1 "$fam")" 80 1 |
		cut -d' ' -f3 | tr '\n' ' ')
	check "IPv$fam: the opt-in client $a gets v2 at 0% (${got%% *})" \
		test "${got%% *}" = v2
	check "IPv$fam: 10 other clients get v1 (${got#* })" \
		test "$(tr ' ' '\n' <<<"${got#* }" | sort -u | tr -d '\n')" = v1
done

# --- 3. a download keeps its backend through ramp, swap and clear ------
want_sha=$(dp_gen_sha $STREAM_BYTES)
a=$(client_addr 3 4)
lab_exec_client "$P" "${DP_CURL[@]}" -m 90 --interface "$a" \
	-o "$STATE/dl.body" -D "$STATE/dl.hdr" \
	"$(dp_url 1 4 "/stream?bytes=$STREAM_BYTES&rate=$STREAM_RATE")" \
	>/dev/null 2>&1 &
dl_pid=$!
dp_wait_bytes "$STATE/dl.body" $((STREAM_RATE / 10)) 50 ||
	check "the download started" false
t_changes=$(now_ms)
# shellcheck disable=SC2015 # die exits
dp "$P" routing traffic 0 --from 0 --distribution 1=100 &&
	after_ramp=$(get "$a" 4) &&
	dp "$P" routing set 0 2 1 &&
	after_swap=$(get "$a" 4) &&
	dp "$P" routing traffic 0 --from 0 --clear &&
	after_clear=$(get "$a" 4) ||
	die "dpctl changes during the download"
at=$(stat -c %s "$STATE/dl.body")
t_changes=$(($(now_ms) - t_changes))
rc=0
wait "$dl_pid" || rc=$?
got_sha=$(sha256sum <"$STATE/dl.body" | cut -d' ' -f1)
hdr=$(awk -F': ' 'tolower($1) == "x-slotlb-version" { print $2 }' \
	"$STATE/dl.hdr" | tr -d '\r')
echo "# download from $a: $hdr, at $at of $STREAM_BYTES bytes after the changes ($t_changes ms); new connections: $after_ramp after 100%, $after_swap after the swap, $after_clear after the clear"
check "the changes happened while the download was in flight" \
	test "$at" -lt $STREAM_BYTES
check "the download completes (curl exit $rc), sha256 intact" \
	test "$rc" -eq 0 -a "$got_sha" = "$want_sha"
check "the download stayed on v1 (b1)" test "$hdr" = v1
check "new connections followed each change: v2 (100% to staging), v1 (staging holds v1 after the swap), v2 (rules cleared, production holds v2)" \
	test "$after_ramp $after_swap $after_clear" = "v2 v1 v2"

# --- 4. nothing lost ------------------------------------------------------
drops=$(dp_drops "$P")
check "no packet dropped by the data path (${drops:-none})" test -z "$drops"
for ns in "$CNS" "$P-b1" "$P-b2"; do
	errs=$(dp_csum_errors "$ns")
	check "$ns: no checksum errors ($errs)" test "$errs" -eq 0
done

dp_finish traffic_dp
