#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlb flows, against what real connections do in a lab (production:
# three backends, both families):
#  (a) --lookup predicts the backend of a new connection from a client
#      address and port; 30 IPv4 and 10 IPv6 real connections from those
#      ports (curl --local-port) reach exactly the predicted backends,
#      and the predictions spread over several backends;
#  (b) the flows list shows connections held open (client, backend as
#      predicted, deployment, state open); --deployment keeps them,
#      --slot staging has none, --limit 1 shows one of the total; a
#      keep-alive connection whose second request came at least 3.5 s
#      after it connected shows an AGE (since its SYN) at least 3 s
#      longer than its IDLE (since its last packet), once, in JSON and
#      in the table;
#  (c) errors: an unknown app or slot (404, exit 1), a malformed client
#      (400), --lookup with --limit (usage, exit 2).
#
# shellcheck disable=SC2317 # functions run through check
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=fl$$
VIP4=$(lab_vip 1 4)
VIP6=$(lab_vip 1 6)
C4=$(lab_client_addr 4)
C6=$(lab_client_addr 6)

need_tools curl python3
lab_check_caps || exit 77
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$DPCTL"
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" "$i" v1 || die "httpd b$i"
done
ctl_start "$P" || die "slotlbd: $(tail -3 "$(ctl_dir "$P")/slotlbd.log")"
ctl_attach_all "$P" 3 || die "attach"
cli app create web --endpoint "$VIP4:80" --endpoint "[$VIP6]:80" \
	>/dev/null || die "app create"
cli slot create web --slot staging --endpoint "$(lab_vip 2 4):80" \
	>/dev/null || die "slot create"
backends=()
for i in 1 2 3; do
	backends+=(--backend "$(be "$i")" --backend \
		"[$(lab_backend_addr "$i" 6)]:$LAB_HTTPD_PORT")
done
cli deploy web --slot production "${backends[@]}" --version v1 >/dev/null ||
	die "deploy"

# predict FAMILY PORT...: "PORT BACKEND" per port, from --lookup.
predict()
{
	local fam=$1 port client

	shift
	for port in "$@"; do
		if [ "$fam" = 6 ]; then
			client="[$C6]:$port"
		else
			client="$C4:$port"
		fi
		echo "$port $(cli -o json flows web --lookup "$client" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"])')"
	done
}

# connect FAMILY PORT...: "PORT BACKEND" per port, from real connections
# (the lab server answers "VERSION BACKEND").
connect()
{
	local fam=$1 url

	shift
	if [ "$fam" = 6 ]; then url="http://[$VIP6]/"; else url="http://$VIP4/"; fi
	lab_exec_client "$P" bash -c 'url=$1; shift
		for port in "$@"; do
			echo "$port $(curl -s --noproxy "*" -m 5 --local-port "$port" "$url" |
				cut -d" " -f2)"
		done' - "$url" "$@"
}

# --- (a) predictions against real connections ---------------------------------
ports4=$(seq 41000 41029)
ports6=$(seq 41100 41109)
# shellcheck disable=SC2086 # lists of ports
want=$( (predict 4 $ports4; predict 6 $ports6) | sed 's/\[\(.*\)\]:/\1 /')
# shellcheck disable=SC2086
got=$( (connect 4 $ports4; connect 6 $ports6) | sed 's/\[\(.*\)\]:/\1 /')
bad=$(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | head -6)
check "40 connections reached the predicted backends${bad:+: $(echo $bad)}" \
	test -n "$want" -a "$want" = "$got"
spread=$(awk '{ print $2 }' <<<"$want" | sort -u | wc -l)
check "the predictions name several backends ($spread of 6 addresses)" \
	test "$spread" -ge 4
out=$(cli flows web --lookup "$C4:41000")
echo "$out" | sed 's/^/   /'
check "the table names the slot, why and the deployment" \
	grep -q "^$C4:41000 *$VIP4:80/tcp *production *production *own *1 *v1 *$(sed -n 1p <<<"$want" | awk '{ print $2 }')" <<<"$out"

# --- (b) the flows list ---------------------------------------------------------------
lab_exec_client "$P" bash -c 'for p in 42000 42001 42002; do
	curl -s --noproxy "*" -m 90 --local-port $p -o /dev/null \
		"http://$1/stream?bytes=9000000&rate=100000" & done; wait' - "$VIP4" &
streams=$!
pred=$(predict 4 42000 42001 42002)
# held JSON: how many of the three held connections the listing has
held()
{
	python3 -c '
import json, sys
print(sum(f["client"] in ("198.18.0.2:42000", "198.18.0.2:42001",
                          "198.18.0.2:42002")
          for f in json.loads(sys.argv[1])["flows"]))' "$1"
}
flows_json=
for ((k = 0; k < 50; k++)); do
	flows_json=$(cli -o json flows web)
	[ "$(held "$flows_json")" -eq 3 ] && break
	sleep 0.2
done
# the three held connections as "PORT BACKEND DEPLOYMENT STATE"
held=$(python3 -c '
import json, sys
for f in json.loads(sys.argv[1])["flows"]:
    port = f["client"].rsplit(":", 1)[1]
    if port in ("42000", "42001", "42002"):
        print(port, f["backend"], f["deployment"], f["state"], f["slot"])' \
	"$flows_json" | sort)
echo "$held" | sed 's/^/   /'
check "flows lists the three held connections, open, on the predicted backends" \
	test "$held" = "$(awk '{ print $1, $2, 1, "open", "production" }' <<<"$pred")"
out=$(cli -o json flows web --deployment 1)
check "--deployment 1 keeps them" test "$(held "$out")" -eq 3
out=$(cli -o json flows web --deployment 2)
check "--deployment 2 (none such): none" test "$(held "$out")" -eq 0
out=$(cli -o json flows web --slot staging | tr -d ' \n')
check "--slot staging: none ($out)" test "$out" = '{"flows":[],"total":0}'
out=$(cli flows web --limit 1)
# the total counts closed flows still lingering, which GC may take
# between two listings: at least the three held
total=$(tail -1 <<<"$out" | sed -n 's/^(1 of \([0-9]*\) flows; --limit N shows more)$/\1/p')
check "--limit 1: one row and the total (${total:-none})" \
	test "$(wc -l <<<"$out")" -eq 3 -a "${total:-0}" -ge 3
kill "$streams" 2>/dev/null
wait "$streams" 2>/dev/null
# A keep-alive connection: a request at once, another once the file
# "go" appears (at least 3.5 s after it connected), then held open
# until "done".
KA_DIR=$(lab_state_dir "$P")
ka_launch=$(now_ms)
# shellcheck disable=SC2016
lab_exec_client "$P" python3 -c '
import os, socket, sys, time
def wait_for(name):
    deadline = time.monotonic() + 60
    while not os.path.exists(name) and time.monotonic() < deadline:
        time.sleep(0.02)
s = socket.create_connection((sys.argv[1], 80), timeout=10)
t0 = time.monotonic()
def get():
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
get()
print(s.getsockname()[1], flush=True)
wait_for(sys.argv[2] + ".go")
get()
print("second request %.1f s after connecting" % (time.monotonic() - t0),
      flush=True)
wait_for(sys.argv[2] + ".done")
' "$VIP4" "$KA_DIR/ka" >"$KA_DIR/ka.out" 2>&1 &
ka=$!
# wait_lines N: until ka.out has N lines (10 s at most)
wait_lines()
{
	local k

	for ((k = 0; k < 100; k++)); do
		[ "$(wc -l <"$KA_DIR/ka.out" 2>/dev/null)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_lines 1
ka_t0=$(now_ms)
while (($(now_ms) - ka_t0 < 3500)); do sleep 0.1; done
touch "$KA_DIR/ka.go"
wait_lines 2
ka_port=$(head -1 "$KA_DIR/ka.out")
ka_flow=$(cli -o json flows web | python3 -c '
import json, sys
for f in json.load(sys.stdin)["flows"]:
    if f["client"] == "198.18.0.2:" + sys.argv[1]:
        print(f["age_ms"], f["idle_ms"])' "$ka_port")
read -r ka_age ka_idle <<<"$ka_flow"
echo "   keep-alive connection (port ${ka_port:-none}; $(sed -n 2p "$KA_DIR/ka.out")): age ${ka_age:-?} ms, idle ${ka_idle:-?} ms"
ka_life=$(($(now_ms) - ka_launch))
# age counts from the SYN, idle from the last request, made >= 3.5 s
# after connecting: age - idle >= 3 s however late the listing comes;
# and the age is no more than the connection's life
check "a keep-alive connection with a request >= 3.5 s after it connected: age - idle >= 3000 ms, age <= its life ($ka_life ms)" \
	test "$(wc -l <<<"$ka_flow")" -eq 1 -a -n "$ka_age" -a \
	$((${ka_age:-0} - ${ka_idle:-0})) -ge 3000 -a "${ka_age:-0}" -le "$ka_life"
out=$(cli flows web)
check "the table has AGE and IDLE columns, and the connection's one row its age and idle time" \
	test "$(grep -c ":$ka_port " <<<"$out")" -eq 1
# the row's AGE and IDLE cells in seconds (Ns, MmSSs or HhMMm)
read -r age_s idle_s < <(awk -v p=":$ka_port" '
function secs(d, n) {
	if (d ~ /h/) { split(d, n, /[hm]/); return n[1] * 3600 + n[2] * 60 }
	if (d ~ /m/) { split(d, n, /[ms]/); return n[1] * 60 + n[2] }
	return d + 0
}
index($1, p) { print secs($7), secs($8) }' <<<"$out")
check "... AGE ${age_s:-?} s at least 3 s more than IDLE ${idle_s:-?} s" \
	test -n "$age_s" -a $((${age_s:-0} - ${idle_s:-0})) -ge 3
grep -E "CLIENT|:$ka_port " <<<"$out" | sed 's/^/   /'
grep -q "AGE *IDLE *STATE" <<<"$out" || check "the table's header names AGE and IDLE" false
touch "$KA_DIR/ka.done"
wait "$ka" 2>/dev/null

# --- (c) errors ------------------------------------------------------------------------
out=$(cli flows nosuch 2>&1)
check "unknown app: exit 1 ($out)" test $? -eq 1 -a "$out" = "Error: nosuch: no such app"
out=$(cli flows web --slot qa 2>&1)
check "unknown slot: exit 1 ($out)" test $? -eq 1 -a "$out" = "Error: web/qa: no such slot"
out=$(cli flows web --lookup 198.18.0.2 2>&1)
check "client without a port: exit 1 ($out)" \
	test $? -eq 1 -a "$out" = "Error: client: 198.18.0.2: missing port"
out=$(cli flows web --lookup "$C4:1" --endpoint "$(lab_vip 9 4):80" 2>&1)
check "an endpoint of no app: exit 1 ($out)" \
	test $? -eq 1 -a "$out" = "Error: $(lab_vip 9 4):80/tcp: not an endpoint of this app"
out=$(cli flows web --lookup "$C4:1" --limit 3 2>&1)
check "--lookup with --limit: usage, exit 2 ($out)" test $? -eq 2

if [ "$failures" -ne 0 ]; then
	echo "FAIL: flows: $failures check(s) failed"
	exit 1
fi
echo "PASS: flows"
