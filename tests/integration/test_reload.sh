#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Reloading the data path, driven by dpctl alone: `dpctl attach` on
# interfaces that already run slotlb loads a new program against the
# pinned maps and swaps it in with XDP_FLAGS_REPLACE. The interfaces
# must never be without a program, the flow table and counters must
# carry over, and connections in flight (a streaming download and an
# idle keep-alive connection) must finish on their backend although the
# slot now holds another deployment, so only their flow entries can
# route them. Then the attach rules: a foreign XDP program is neither
# replaced nor detached without --force, and detach leaves nothing.
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

P=rl$$
STREAM_BYTES=8000000
IFACES=(pub0 be1 be2)
VIP=$(lab_vip 1 4)
B1="$(lab_backend_addr 1 4):$LAB_HTTPD_PORT"
B2="$(lab_backend_addr 2 4):$LAB_HTTPD_PORT"

# One keep-alive connection: a request, then idle until FLAG exists, then
# a second request on the same socket. Prints "PORT BODY" per request.
KEEPALIVE_PY='
import http.client, os, sys, time
host, flag = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection(host, 80, timeout=10)
for path in ("/before", "/after"):
    c.request("GET", path)
    body = c.getresponse().read().decode().strip()
    print(c.sock.getsockname()[1], body, flush=True)
    for _ in range(1200):
        if path == "/after" or os.path.exists(flag):
            break
        time.sleep(0.1)
'

# A download the client paces: the server sends /stream at full speed,
# the reader takes 16 KiB per 20 ms until FLAG exists, then the rest at
# once. So data flows throughout the reload however slow the machine is,
# and the transfer cannot end before the test says so (or 120 s: at load
# 20, dpctl's few calls before the reload took over the 20 s it had). Prints "started
# PORT BACKEND", then "done PORT BACKEND BYTES SHA256 BYTES_AT_FLAG".
STREAM_PY='
import hashlib, os, socket, sys, time
host, n, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, 80), timeout=10)
s.sendall(b"GET /stream?bytes=%d HTTP/1.1\r\nHost: slotlb\r\n\r\n" % n)
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("closed before the body")
    buf += d
head, body = buf.split(b"\r\n\r\n", 1)
backend = "none"
for line in head.split(b"\r\n")[1:]:
    k, _, v = line.partition(b":")
    if k.strip().lower() == b"x-slotlb-backend":
        backend = v.strip().decode()
port, h, got, at_flag = s.getsockname()[1], hashlib.sha256(body), len(body), -1
print("started", port, backend, flush=True)
deadline = time.time() + 120
while got < n:
    if at_flag < 0 and (os.path.exists(flag) or time.time() > deadline):
        at_flag = got
    d = s.recv(16384 if at_flag < 0 else 262144)
    if not d:
        break
    h.update(d)
    got += len(d)
    if at_flag < 0:
        time.sleep(0.02)
print("done", port, backend, got, h.hexdigest(), at_flag, flush=True)
'

# sample_xdp FILE STOP: record pub0's XDP program id (or "none") until
# STOP exists; bounded to 2000 samples.
sample_xdp()
{
	local k id

	for ((k = 0; k < 2000; k++)); do
		[ -e "$2" ] && break
		id=$(dp_xdp "$P" pub0 | cut -d' ' -f1)
		echo "${id:-none}" >>"$1"
	done
}

# wait_samples FILE PATTERN N: wait (at most 5 s) until FILE has N lines
# matching PATTERN, so the sampler saw both sides of the reload however
# slow the machine is.
wait_samples()
{
	local k c

	for ((k = 0; k < 100; k++)); do
		c=$(grep -cxE -- "$2" "$1" 2>/dev/null)
		[ "${c:-0}" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# samples_ok FILE OLD NEW: every sample is OLD or NEW, never none, and
# OLD never comes back after NEW.
samples_ok()
{
	awk -v old="$2" -v new="$3" '
		$1 == new { seen_new = 1; next }
		$1 == old && !seen_new { next }
		{ bad = 1 }
		END { exit bad || !seen_new }' "$1"
}

# xdp_ids: "IF=ID" for each interface, names checked by the caller.
xdp_ids()
{
	local i

	for i in "${IFACES[@]}"; do
		echo "$i=$(dp_xdp "$P" "$i" | cut -d' ' -f1)"
	done
}

# prog_gone ID: program ID no longer exists (freed after RCU).
prog_gone()
{
	local k

	for ((k = 0; k < 30; k++)); do
		bpftool prog show id "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

dp_preflight
command -v bpftool >/dev/null || {
	echo "SKIP: bpftool missing"
	exit 77
}
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"

dp "$P" attach --role public pub0 --role backend be1 be2 ||
	die "dpctl attach"
dp_backends "$P" 2 || die "dpctl backend set"
# shellcheck disable=SC2015 # die exits
dp "$P" deployment publish 1 v1 1 && dp "$P" deployment publish 2 v2 2 ||
	die "dpctl deployment publish"
dp "$P" routing set 0 1 || die "dpctl routing set"
dp "$P" endpoint add "$VIP:80/tcp" --app 0 --slot 0 --id 1 ||
	die "dpctl endpoint add"
out=$(lab_exec_client "$P" "${DP_CURL[@]}" "http://$VIP/")
[ "$out" = "v1 $B1" ] || die "endpoint answers '$out', want 'v1 $B1'"

# --- connections in flight across a reload -----------------------------
rm -f "$STATE/go"
lab_exec_client "$P" timeout 300 python3 -c "$STREAM_PY" "$VIP" \
	$STREAM_BYTES "$STATE/go" >"$STATE/dl.out" 2>&1 &
dl_pid=$!
lab_exec_client "$P" timeout 300 python3 -c "$KEEPALIVE_PY" "$VIP" \
	"$STATE/go" >"$STATE/ka.out" 2>&1 &
ka_pid=$!
dp_wait_bytes "$STATE/dl.out" 1 100 || die "download did not start"
dp_wait_bytes "$STATE/ka.out" 1 100 || die "keep-alive got no first answer"

# From here only flow entries lead to b1: a lost entry would be hashed
# to b2, which answers a stray segment with a reset.
dp "$P" routing set 0 2 || die "dpctl routing set 0 2"
out=$(lab_exec_client "$P" "${DP_CURL[@]}" "http://$VIP/")
check "a new connection gets the slot's new deployment ($out)" \
	test "$out" = "v2 $B2"

before=$(xdp_ids)
flows_before=$(dp "$P" flows | sort)
fwd_before=$(dp_stat "$P" forward)
open=$(grep -c '^established tcp .* deployment 1 backend 1 state open ' <<<"$flows_before")
check "download and keep-alive are open flows on b1 before the reload ($open)" \
	test "$open" -eq 2

rm -f "$STATE/samples" "$STATE/stop"
sample_xdp "$STATE/samples" "$STATE/stop" &
mon_pid=$!
wait_samples "$STATE/samples" ".+" 5
t0=$(now_ms)
dp "$P" attach --role public pub0 --role backend be1 be2
rc=$?
took=$(($(now_ms) - t0))
after=$(xdp_ids)
wait_samples "$STATE/samples" "$(grep "^pub0=" <<<"$after" | cut -d= -f2)" 5
touch "$STATE/stop"
wait "$mon_pid"
flows_after=$(dp "$P" flows | sort)
fwd_after=$(dp_stat "$P" forward)
echo "# reload (load + replace on 3 interfaces) in $took ms"
echo "# program ids before: $(tr '\n' ' ' <<<"$before")after: $(tr '\n' ' ' <<<"$after")"
check "reload: dpctl attach exits 0" test "$rc" -eq 0

for i in "${IFACES[@]}"; do
	old=$(grep "^$i=" <<<"$before" | cut -d= -f2)
	new=$(grep "^$i=" <<<"$after" | cut -d= -f2)
	name=$(dp_xdp "$P" "$i" | cut -d' ' -f2)
	check "$i: program replaced ($old -> $new, $name)" \
		test -n "$old" -a -n "$new" -a "$old" != "$new" -a "$name" = slotlb_xdp
done
old=$(grep "^pub0=" <<<"$before" | cut -d= -f2)
new=$(grep "^pub0=" <<<"$after" | cut -d= -f2)
nsamples=$(wc -l <"$STATE/samples")
nold=$(grep -cx "$old" "$STATE/samples")
nnew=$(grep -cx "$new" "$STATE/samples")
nnone=$(grep -cx none "$STATE/samples")
echo "# pub0 sampled $nsamples times: $nold old, $nnew new, $nnone without program"
check "pub0 always had a program: old until replaced, then new" \
	samples_ok "$STATE/samples" "$old" "$new"
check "the replaced program is unloaded (id $old gone)" prog_gone "$old"
# Only close bits may move meanwhile (the FINs of the last connection).
check "flow table carried over: same $(wc -l <<<"$flows_after") entries, same backends" \
	test "$(awk '{ sub(/ state .*/, ""); print }' <<<"$flows_before")" = \
	"$(awk '{ sub(/ state .*/, ""); print }' <<<"$flows_after")"
check "counters carried over (forward $fwd_before -> $fwd_after)" \
	test "$fwd_after" -ge "$fwd_before"

touch "$STATE/go"
rc=0
wait "$ka_pid" || rc=$?
echo "# keep-alive: $(tr '\n' ';' <"$STATE/ka.out")"
ka1=$(sed -n 1p "$STATE/ka.out")
ka2=$(sed -n 2p "$STATE/ka.out")
check "keep-alive connection answers again after the reload on the same socket, from b1" \
	test "$rc" -eq 0 -a "${ka1#* }" = "v1 $B1" -a "$ka2" = "$ka1"

rc=0
wait "$dl_pid" || rc=$?
read -r _ port be_start < <(grep -m1 '^started ' "$STATE/dl.out")
read -r _ _ be_end bytes sha at_flag < <(grep -m1 '^done ' "$STATE/dl.out")
if [ -n "${bytes:-}" ]; then
	echo "# download: port $port, $bytes bytes ($at_flag paced, before the go) from $be_start, then $be_end"
else
	echo "# download: exit $rc: $(tail -n1 "$STATE/dl.out")"
fi
check "download completes across the reload (exit $rc, ${bytes:-0} of $STREAM_BYTES bytes)" \
	test "$rc" -eq 0 -a "${bytes:-0}" = "$STREAM_BYTES"
check "download sha256 is that of --gen-body $STREAM_BYTES" \
	test "${sha:-}" = "$(dp_gen_sha $STREAM_BYTES)"
check "download came from b1 all along ($be_start)" \
	test "$be_start" = "$B1" -a "${be_end:-}" = "$B1"
check "its flow entry still pins b1" grep -q \
	"^established tcp $(lab_client_addr 4):$port -> $VIP:80 => $B1 deployment 1 " \
	<(dp "$P" flows)
drops=$(dp_drops "$P")
check "no packet dropped by the data path (${drops:-none})" test -z "$drops"
miss=$(dp_stat "$P" forward_nonsyn_miss)
check "no TCP segment missed its flow entry ($miss)" test "$miss" -eq 0

# --- a foreign XDP program ------------------------------------------------
dp "$P" detach be2 || die "dpctl detach be2"
ip -n "$(lab_ns_lb "$P")" link set dev be2 xdpdrv obj "$LAB_XDP_PASS" sec xdp ||
	die "attach xdp_pass to be2"
foreign=$(dp_xdp "$P" be2)
echo "# foreign program on be2: $foreign"
err=$(dp "$P" attach --role backend be2 2>&1 >/dev/null)
rc=$?
echo "# dpctl attach be2: exit $rc: $err"
check "attach over a foreign program fails with a clear error" \
	test "$rc" -ne 0 -a \
	"$err" = "Error: be2: another XDP program is attached (use --force to replace it)"
check "the foreign program stays attached" test "$(dp_xdp "$P" be2)" = "$foreign"
err=$(dp "$P" detach be2 2>&1 >/dev/null)
rc=$?
check "detach refuses a foreign program (exit $rc: $err)" \
	test "$rc" -ne 0 -a "$(dp_xdp "$P" be2)" = "$foreign"
dp "$P" attach --role backend be2 --force
rc=$?
now=$(dp_xdp "$P" be2)
check "attach --force replaces it (exit $rc, now $now)" \
	test "$rc" -eq 0 -a "${now#* }" = slotlb_xdp -a "$now" != "$foreign"
out=$(lab_exec_client "$P" "${DP_CURL[@]}" "http://$VIP/")
check "b2 serves the endpoint through the forced program ($out)" \
	test "$out" = "v2 $B2"

# --- detach ------------------------------------------------------------
dp "$P" detach "${IFACES[@]}"
rc=$?
left=$(ip -n "$(lab_ns_lb "$P")" link show | grep -c 'prog/xdp')
net=$(ctl_exec_lb "$P" bpftool net show | grep -c 'driver id\|generic id')
check "detach leaves no XDP program in the LB (exit $rc, $left in ip link, $net in bpftool net)" \
	test "$rc" -eq 0 -a "$left" -eq 0 -a "$net" -eq 0
out=$(lab_exec_client "$P" "${DP_CURL[@]}" -m 3 "http://$VIP/")
check "without the program the endpoint is gone ('$out')" test -z "$out"
out=$(lab_exec_client "$P" "${DP_CURL[@]}" "http://$B1/")
check "the kernel still routes to the backends ($out)" test "$out" = "v1 $B1"
err=$(dp "$P" detach pub0 2>&1 >/dev/null)
check "a second detach says so ($err)" \
	test "$err" = "Error: pub0: no slotlb program attached"

dp_finish reload
