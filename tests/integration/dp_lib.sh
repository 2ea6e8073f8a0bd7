#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Shared by the data-path integration tests (test_datapath.sh,
# test_reload.sh): they drive the XDP program with dpctl alone, no
# controller, so what they check is the data path and libslotlb, not
# slotlbd's reconcile. Sourced after tools/lab/lab.sh and
# tools/lab/controller.sh; expects P (the lab prefix) to be set.
#
# DPCTL overrides the dpctl binary, so a deliberately broken build can be
# run through the same test to see it fail.

# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

DP_DPCTL=${DPCTL:-$LAB_BUILD/tools/dpctl}
DP_FLOW_CAPACITY=65536
# shellcheck disable=SC2034 # used by the tests that source this
DP_CURL=(curl -s --noproxy '*' -g -m 10)
DP_T0=$(($(date +%s%N) / 1000000))




# dp_diag: after a failure, the veth drop and error counters of lab P
# (frames lost in a veth ring are not counted by the data path).
dp_diag()
{
	local ns dev bad all=

	for ns in $(lab_namespaces "$P"); do
		for dev in $(ip -n "$ns" -o link show type veth |
			awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
			bad=$(ip netns exec "$ns" ethtool -S "$dev" 2>/dev/null |
				awk '/drops|errors/ && $2 > 0 { printf " %s %s", $1, $2 }')
			[ -n "$bad" ] && all+=" $ns/$dev:$bad;"
		done
	done
	echo "# veth drops and errors:${all:- none}"
}

# dp_finish NAME: summary line and exit status.
dp_finish()
{
	local took=$(($(now_ms) - DP_T0))

	if [ "$failures" -ne 0 ]; then
		dp_diag
		echo "FAIL: $1: $failures check(s) failed (${took} ms)"
		exit 1
	fi
	echo "PASS: $1 (${took} ms)"
	exit 0
}

# dp_preflight: skip when no lab can be built, fail when a binary is
# missing (the tests assume `make all`).
dp_preflight()
{
	local f

	lab_check_caps || exit 77
	for f in curl nstat nsenter timeout sha256sum; do
		command -v "$f" >/dev/null || {
			echo "SKIP: $f missing"
			exit 77
		}
	done
	for f in "$DP_DPCTL" "$LAB_HTTPD"; do
		[ -x "$f" ] || die "$f: missing (run make all)"
	done
	[ -r "$LAB_XDP_PASS" ] || die "$LAB_XDP_PASS: missing (run make all)"
}

# dp P ARGS...: dpctl against lab P's pinned maps, in its LB namespace.
dp()
{
	local p=$1

	shift
	ctl_exec_lb "$p" timeout "$DPCTL_TIMEOUT" "$DP_DPCTL" --pin-root "$(ctl_pin_root "$p")" \
		--flow-capacity "$DP_FLOW_CAPACITY" "$@"
}

# dp_stat P REASON: packets counted under REASON so far.
dp_stat()
{
	dp "$1" stats | awk -v r="$2" '$1 == r { print $2; f = 1 }
		END { if (!f) print -1 }'
}

# dp_drops P: "reason=packets ..." for every drop reason that counted.
dp_drops()
{
	dp "$1" stats | awk '$1 ~ /^drop_/ && $2 > 0 { printf "%s=%s ", $1, $2 }'
}

# dp_xdp P IF: "ID NAME" of the XDP program on the LB's IF, empty if none.
dp_xdp()
{
	ip -n "$(lab_ns_lb "$1")" link show dev "$2" |
		awk '$1 == "prog/xdp" { print $3, $5 }'
}

# dp_csum_errors NS: checksum errors the kernel counted in namespace NS
# (TCP and UDP over both families share these counters).
dp_csum_errors()
{
	ip netns exec "$1" nstat -asz TcpInCsumErrors UdpInCsumErrors \
		Udp6InCsumErrors Icmp6InCsumErrors IcmpInCsumErrors |
		awk '!/^#/ { s += $2 } END { print s + 0 }'
}

# dp_backends P N: backend ids I (IPv4) and 100+I (IPv6) for lab
# backends 1..N.
dp_backends()
{
	local p=$1 n=$2 i

	for ((i = 1; i <= n; i++)); do
		dp "$p" backend set "$i" "$(lab_backend_addr "$i" 4):$LAB_HTTPD_PORT" &&
			dp "$p" backend set $((100 + i)) \
				"[$(lab_backend_addr "$i" 6)]:$LAB_HTTPD_PORT" ||
			return 1
	done
}

# dp_url K FAMILY [PATH]: URL of VIP K on port 80.
dp_url()
{
	if [ "$2" = 6 ]; then
		echo "http://[$(lab_vip "$1" 6)]${3:-/}"
	else
		echo "http://$(lab_vip "$1" 4)${3:-/}"
	fi
}

# dp_gen_sha N: sha256 of the /stream body of N bytes.
dp_gen_sha()
{
	"$LAB_HTTPD" --gen-body "$1" | sha256sum | cut -d' ' -f1
}

# dp_wait_bytes FILE MIN TRIES: wait (0.1 s steps) until FILE has at
# least MIN bytes.
dp_wait_bytes()
{
	local f=$1 min=$2 tries=$3 i

	for ((i = 0; i < tries; i++)); do
		[ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -ge "$min" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# The machine has no ping(8); ICMP echo over a raw socket does the same.
# Prints the replies received; fails unless every request got one.
# shellcheck disable=SC2016
DP_PING_PY='
import os, socket, struct, sys, time
fam, addr, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
if fam == "6":
    # The kernel fills in ICMPv6 checksums on raw ICMPv6 sockets.
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    req, rep = 128, 129
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    req, rep = 8, 0
s.settimeout(0.5)
ident, got = os.getpid() & 0xffff, 0
for seq in range(count):
    body = b"slotlb-datapath-test"
    head = struct.pack("!BBHHH", req, 0, 0, ident, seq)
    c = csum(head + body) if fam == "4" else 0
    s.sendto(struct.pack("!BBHHH", req, 0, c, ident, seq) + body, (addr, 0))
    deadline = time.time() + 2
    while time.time() < deadline:
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        if fam == "4":
            data = data[(data[0] & 15) * 4:]
        t, _, _, i, q = struct.unpack("!BBHHH", data[:8])
        if t == rep and i == ident and q == seq:
            got += 1
            break
print(got)
sys.exit(0 if got == count else 1)
'

# dp_ping NS FAMILY ADDR COUNT: ICMP echo from namespace NS.
dp_ping()
{
	ip netns exec "$1" timeout 20 python3 -c "$DP_PING_PY" "$2" "$3" "$4"
}
