#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (floods: takes the CPUs it measures with)
#
# An idle keep-alive connection survives a spoofed flood and a swap
# (issue 10, item 2), driven by dpctl with a flow table of 4,096 flows:
# one keep-alive connection per family gets its first answer from v1;
# then the client's namespace floods the endpoints with frames from
# spoofed sources (raw Ethernet on its link), 4x the capacity of SYNs
# and 4x of SYN + blind ACK pairs, both families, every one of which
# the data path forwards; then the slot switches to v2. The idle
# connections' next requests must reach the same v1 backend on the same
# connection: unverified packets only ever fill the half-open stage.
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

P=sf$$
DP_FLOW_CAPACITY=4096
FLOOD=$((4 * DP_FLOW_CAPACITY))

# A keep-alive connection: a request, idle until FLAG exists, a second
# request on the same socket. Prints "PORT BODY" per request.
KEEPALIVE_PY='
import http.client, os, sys, time
host, flag = sys.argv[1], sys.argv[2]
c = http.client.HTTPConnection(host, 80, timeout=10)
for path in ("/before", "/after"):
    c.request("GET", path)
    body = c.getresponse().read().decode().strip()
    print(c.sock.getsockname()[1], body, flush=True)
    for _ in range(6000):
        if path == "/after" or os.path.exists(flag):
            break
        time.sleep(0.1)
    else:
        sys.exit("no flag after 600 s: the second request would not follow the swap")
'

# Spoofed frames on DEV toward MAC: N SYNs per family from sources no
# client uses, then N SYN + blind ACK pairs. Prints the frames sent.
FLOOD_PY='
import random, socket, struct, sys
dev, mac, vip4, vip6, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
dst = bytes.fromhex(mac.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
src_mac = s.getsockname()[4][:6]
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
def tcp(src, dst_a, sport, seq, ack, flags, pseudo):
    h = struct.pack("!HHIIBBHHH", sport, 80, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(pseudo + h)
    return h[:16] + struct.pack("!H", c) + h[18:]
def frame4(i, flags, ack):
    src = socket.inet_aton("203.0.%d.%d" % (113 + (i >> 16) % 2, 1 + (i >> 8) % 250))
    d = socket.inet_aton(vip4)
    t = tcp(src, d, 1024 + i % 60000, random.getrandbits(32), ack, flags,
            src + d + struct.pack("!BBH", 0, 6, 20))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0x4000, 64, 6, 0, src, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst + src_mac + b"\x08\x00" + ip + t
def frame6(i, flags, ack):
    src = socket.inet_pton(socket.AF_INET6, "2001:db8:%x::%x" % ((i >> 16) % 16, 1 + (i >> 8) % 250))
    d = socket.inet_pton(socket.AF_INET6, vip6)
    t = tcp(src, d, 1024 + i % 60000, random.getrandbits(32), ack, flags,
            src + d + struct.pack("!IxxxB", 20, 6))
    ip = struct.pack("!IHBB16s16s", 6 << 28, 20, 6, 64, src, d)
    return dst + src_mac + b"\x86\xdd" + ip + t
sent = 0
for f in (frame4, frame6):
    for i in range(n):
        s.send(f(i, 0x02, 0))
        sent += 1
    for i in range(n, 2 * n):
        s.send(f(i, 0x02, 0))
        s.send(f(i, 0x10, random.getrandbits(32)))
        sent += 2
print(sent)
'

dp_preflight
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
# The keep-alive connections stay silent through the flood and the swap,
# which took 21 s at load 16: longer than httpd's default 30 s idle
# timeout once, which closed them (RemoteDisconnected).
lab_start_httpd "$P" 1 v1 --idle-timeout 900 || die "httpd b1"
lab_start_httpd "$P" 2 v2 --idle-timeout 900 || die "httpd b2"

dp "$P" attach --role public pub0 --role backend be1 be2 ||
	die "dpctl attach"
dp_backends "$P" 2 || die "dpctl backend set"
# shellcheck disable=SC2015 # die exits
dp "$P" deployment publish 1 v1 1 && dp "$P" deployment publish 2 v2 2 &&
	dp "$P" deployment publish 3 v1 101 &&
	dp "$P" deployment publish 4 v2 102 || die "dpctl deployment publish"
dp "$P" routing set 0 1 3 || die "dpctl routing set"
# shellcheck disable=SC2015 # die exits
dp "$P" endpoint add "$(lab_vip 1 4):80/tcp" --app 0 --slot 0 --id 1 &&
	dp "$P" endpoint add "[$(lab_vip 1 6)]:80/tcp" --app 0 --slot 1 --id 2 ||
	die "dpctl endpoint add"

declare -A ka_pid want
for fam in 4 6; do
	host=$(lab_vip 1 "$fam")
	lab_exec_client "$P" timeout 90 python3 -c "$KEEPALIVE_PY" "$host" \
		"$STATE/go" >"$STATE/ka$fam.out" 2>&1 &
	ka_pid[$fam]=$!
done
for fam in 4 6; do
	dp_wait_bytes "$STATE/ka$fam.out" 1 150 ||
		die "IPv$fam keep-alive got no first answer"
	want[$fam]=$(head -1 "$STATE/ka$fam.out")
	echo "# IPv$fam keep-alive: ${want[$fam]}"
	check "IPv$fam keep-alive's first answer is from v1 (${want[$fam]})" \
		grep -q " v1 " <<<"${want[$fam]}"
done

fwd0=$(dp_stat "$P" forward)
mac=$(ip -n "$(lab_ns_lb "$P")" -o link show dev pub0 |
	sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
t0=$(now_ms)
sent=$(lab_exec_client "$P" timeout 120 python3 -c "$FLOOD_PY" c0 "$mac" \
	"$(lab_vip 1 4)" "$(lab_vip 1 6)" "$FLOOD") || die "flood"
fwd1=$(dp_stat "$P" forward)
echo "# flood: $sent spoofed frames in $(($(now_ms) - t0)) ms; forward $fwd0 -> $fwd1; $(dp "$P" stats | grep -E '^(flow_|drop_)' | awk '$2 > 0' | tr -s ' \n' ' ')"
check "the flood went through the data path: all $sent frames forwarded ($((fwd1 - fwd0)))" \
	test $((fwd1 - fwd0)) -ge "$sent" -a "$sent" -eq $((6 * FLOOD))

dp "$P" routing set 0 2 4 || die "dpctl routing set 0 2 4"
out=$(lab_exec_client "$P" "${DP_CURL[@]}" "http://$(lab_vip 1 4)/")
check "after the swap a new connection gets v2 ($out)" grep -q "^v2 " <<<"$out"

touch "$STATE/go"
for fam in 4 6; do
	rc=0
	wait "${ka_pid[$fam]}" || rc=$?
	after=$(sed -n 2p "$STATE/ka$fam.out")
	echo "# IPv$fam keep-alive after the flood and the swap: $(tail -1 "$STATE/ka$fam.out") (exit $rc)"
	check "IPv$fam keep-alive: second request on the same connection, same v1 backend" \
		test "$rc" -eq 0 -a "${after/\/after/}" = "${want[$fam]/\/before/}"
done
dp_finish syn_flood
