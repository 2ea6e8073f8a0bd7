#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Path MTU discovery through the balancer (issue 10, item 6): a router
# namespace sits between the client and the LB, and its link toward the
# client carries only 1,400 bytes while every other link carries 1,500.
# The client announces an MSS of 1,460 (its own link is 1,500), so the
# backend's full-sized segments (DF set, IPv4; IPv6 never fragments in
# flight) reach the router, which answers "fragmentation needed" /
# "packet too big" to their source: the endpoint address. Only if the
# balancer translates that error to the backend (outer and quoted
# headers, checksums) does the backend lower its path MTU and the large
# download complete; otherwise every full-sized segment is black-holed.
#
#   client c0 (1500) -- rc0 (1400) router rl0 (1500) -- pub0 LB be1 -- b1
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

P=mt$$
BYTES=2000000
LINK_MTU=1400
C4=198.18.1.2
C6=fd00:5107:1::2

# rewire P: replace the lab's client link with client - router - LB.
rewire()
{
	local c lb r

	c=$(lab_ns_client "$P")
	lb=$(lab_ns_lb "$P")
	r=$(lab_ns_router "$P")
	ip -n "$c" link del c0 || return 1
	lab_add_ns "$r" || return 1
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 >/dev/null || return 1
	ip -n "$r" link add rl0 type veth peer name pub0 netns "$lb" &&
		ip -n "$r" link add rc0 type veth peer name c0 netns "$c" ||
		return 1
	# The LB redirects into pub0, so its peer needs an XDP program;
	# every end that transmits sends wire-sized, checksummed frames.
	lab_wire_like "$r" rl0 && lab_wire_like "$r" rc0 &&
		lab_wire_like "$c" c0 || return 1
	ip netns exec "$lb" sysctl -qw net.ipv4.conf.pub0.rp_filter=0 \
		>/dev/null || return 1
	ip -n "$lb" -batch - <<-EOF || return 1
		addr add 198.18.0.1/24 dev pub0
		addr add fd00:5107::1/64 dev pub0 nodad
		link set pub0 up
		route add 198.18.1.0/24 via 198.18.0.3
		route add fd00:5107:1::/64 via fd00:5107::3
	EOF
	ip -n "$r" -batch - <<-EOF || return 1
		addr add 198.18.0.3/24 dev rl0
		addr add fd00:5107::3/64 dev rl0 nodad
		link set rl0 up
		addr add 198.18.1.1/24 dev rc0
		addr add fd00:5107:1::1/64 dev rc0 nodad
		link set rc0 mtu $LINK_MTU up
		route add 198.18.100.0/24 via 198.18.0.1
		route add fd00:5107:100::/64 via fd00:5107::1
	EOF
	ip -n "$c" -batch - <<-EOF
		addr add $C4/24 dev c0
		addr add $C6/64 dev c0 nodad
		link set c0 up
		route add 198.18.100.0/24 via 198.18.1.1
		route add fd00:5107:100::/64 via fd00:5107:1::1
	EOF
}

# icmp_counts: "FORWARD_ICMP REPLY_ICMP" translated so far.
icmp_counts()
{
	echo "$(dp_stat "$P" forward_icmp) $(dp_stat "$P" reply_icmp)"
}

dp_preflight
ctl_trap_cleanup "$P"
lab_up "$P" 1 || exit $?
STATE=$(lab_state_dir "$P")
rewire || die "router between client and LB"
lab_start_httpd "$P" 1 v1 || die "httpd b1"

dp "$P" attach --role public pub0 --role backend be1 || die "dpctl attach"
dp_backends "$P" 1 || die "dpctl backend set"
# shellcheck disable=SC2015 # die exits
dp "$P" deployment publish 1 v1 1 && dp "$P" deployment publish 2 v1 101 ||
	die "dpctl deployment publish"
dp "$P" routing set 0 1 2 || die "dpctl routing set"
# shellcheck disable=SC2015 # die exits
dp "$P" endpoint add "$(lab_vip 1 4):80/tcp" --app 0 --slot 0 --id 1 &&
	dp "$P" endpoint add "[$(lab_vip 1 6)]:80/tcp" --app 0 --slot 1 --id 2 ||
	die "dpctl endpoint add"

mtu=$(ip -n "$(lab_ns_router "$P")" -o link show dev rc0 |
	sed -n 's/.* mtu \([0-9]*\).*/\1/p')
check "the router's link toward the client carries $LINK_MTU bytes ($mtu)" \
	test "$mtu" = "$LINK_MTU"
want=$(dp_gen_sha $BYTES)
for fam in 4 6; do
	before=$(icmp_counts)
	t0=$(now_ms)
	rc=0
	lab_exec_client "$P" "${DP_CURL[@]}" -m 30 -o "$STATE/dl$fam" \
		"$(dp_url 1 "$fam" "/stream?bytes=$BYTES")" || rc=$?
	took=$(($(now_ms) - t0))
	got=$(stat -c %s "$STATE/dl$fam" 2>/dev/null || echo 0)
	after=$(icmp_counts)
	echo "# IPv$fam: curl exit $rc after $took ms, $got of $BYTES bytes; ICMP translated (to backend, to client): $before -> $after"
	check "IPv$fam: the download through the $LINK_MTU-byte link completes (curl exit $rc)" \
		test "$rc" -eq 0
	check "IPv$fam: its sha256 is that of --gen-body $BYTES" \
		test "$(sha256sum <"$STATE/dl$fam" | cut -d' ' -f1)" = "$want"
	check "IPv$fam: the router's error reached the backend through the balancer ($before -> $after)" \
		test "${after%% *}" -gt "${before%% *}"
	# The backend learnt the path MTU toward the client.
	if [ "$fam" = 4 ]; then
		route=$(lab_exec_backend "$P" 1 ip -4 route get "$C4")
	else
		route=$(lab_exec_backend "$P" 1 ip -6 route get "$C6")
	fi
	echo "# b1: $(tr -s ' \n' ' ' <<<"$route")"
	check "IPv$fam: b1's route to the client has the path MTU $LINK_MTU" \
		grep -q "mtu $LINK_MTU" <<<"$route"
done
drops=$(dp_drops "$P")
echo "# data path drops: ${drops:-none}"
check "no checksum errors at the client ($(dp_csum_errors "$(lab_ns_client "$P")"))" \
	test "$(dp_csum_errors "$(lab_ns_client "$P")")" -eq 0
check "no checksum errors at b1 ($(dp_csum_errors "$(lab_ns_backend "$P" 1)"))" \
	test "$(dp_csum_errors "$(lab_ns_backend "$P" 1)")" -eq 0
dp_finish pmtu
