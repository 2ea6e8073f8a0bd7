#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The data path's acceptance, driven by dpctl alone (no controller): a
# client reaches an app's IPv4 and IPv6 endpoints through the XDP NAT and
# gets the deployment in the slot, Maglev spreads connections over its
# backends, one routing update sends new connections to another
# deployment while a download in flight finishes, byte for byte, on the
# backend it started on; counters move, traffic that is not for an
# endpoint still takes the kernel path, and no end host saw a bad
# checksum.
#
# Layout: deployment 1 "v1" = b1, b2 and deployment 2 "v2" = b3, b4 over
# IPv4; deployments 3 "v1" and 4 "v2" are the same hosts over IPv6. The
# data path serves a client only from backends of its own family
# (docs/datapath.md, "Not handled"), so the IPv6 endpoint sits in slot 1
# of the same app: `routing set 0 2 4` moves both families in one map
# update.
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

P=dp$$
STREAM_BYTES=3000000
STREAM_RATE=600000

# Backend addresses (as the httpd names itself) of lab hosts I.. per family.
names()
{
	local fam=$1 i

	shift
	for i in "$@"; do
		if [ "$fam" = 6 ]; then
			echo "[$(lab_backend_addr "$i" 6)]:$LAB_HTTPD_PORT"
		else
			echo "$(lab_backend_addr "$i" 4):$LAB_HTTPD_PORT"
		fi
	done
}

# fetch_many FAMILY COUNT: COUNT new connections to the endpoint, one body
# line ("VERSION ADDR:PORT") each.
fetch_many()
{
	local fam=$1 count=$2 k rc

	# One failure is enough to fail, and keeps a broken path from
	# costing COUNT timeouts.
	for ((k = 0; k < count; k++)); do
		rc=0
		lab_exec_client "$P" "${DP_CURL[@]}" -m 5 "$(dp_url 1 "$fam")" ||
			rc=$?
		if [ $rc -ne 0 ]; then
			echo "curl-exit-$rc"
			break
		fi
	done
}

# all_from LINES VERSION HOSTS...: every line is VERSION from one of HOSTS.
all_from()
{
	local lines=$1 version=$2 fam=$3 l

	shift 3
	while read -r l; do
		grep -qxF -- "${l#"$version "}" <(names "$fam" "$@") &&
			[ "${l%% *}" = "$version" ] || return 1
	done <<<"$lines"
}

# checksums: no end host counted a bad checksum, the data path dropped
# nothing and lost no flow entry.
checksums()
{
	local ns errs segs drops miss

	for ns in "$(lab_ns_client "$P")" "$P-b1" "$P-b2" "$P-b3" "$P-b4"; do
		errs=$(dp_csum_errors "$ns")
		segs=$(ip netns exec "$ns" nstat -asz TcpInSegs TcpRetransSegs |
			awk '!/^#/ { printf "%s %s, ", $2, $1 }')
		check "$ns: no checksum errors ($errs; ${segs%, })" \
			test "$errs" -eq 0
	done
	drops=$(dp_drops "$P")
	check "no packet dropped by the data path (${drops:-none})" \
		test -z "$drops"
	miss=$(dp_stat "$P" forward_nonsyn_miss)
	check "no TCP segment missed its flow entry ($miss)" test "$miss" -eq 0
}

dp_preflight
ctl_trap_cleanup "$P"
lab_up "$P" 4 || exit $?
STATE=$(lab_state_dir "$P")
for i in 1 2; do
	lab_start_httpd "$P" $i v1 || die "httpd b$i"
done
for i in 3 4; do
	lab_start_httpd "$P" $i v2 || die "httpd b$i"
done

t0=$(now_ms)
dp "$P" attach --role public pub0 --role backend be1 be2 be3 be4 ||
	die "dpctl attach"
echo "# load and attach to 5 interfaces: $(($(now_ms) - t0)) ms"
dp_backends "$P" 4 || die "dpctl backend set"
# shellcheck disable=SC2015 # die exits
dp "$P" deployment publish 1 v1 1 2 &&
	dp "$P" deployment publish 2 v2 3 4 &&
	dp "$P" deployment publish 3 v1 101 102 &&
	dp "$P" deployment publish 4 v2 103 104 ||
	die "dpctl deployment publish"
dp "$P" routing set 0 1 3 || die "dpctl routing set"
# shellcheck disable=SC2015 # die exits
dp "$P" endpoint add "$(lab_vip 1 4):80/tcp" --app 0 --slot 0 --id 1 &&
	dp "$P" endpoint add "[$(lab_vip 1 6)]:80/tcp" --app 0 --slot 1 --id 2 ||
	die "dpctl endpoint add"
for i in 1 2 3 4; do
	[ "$(dp_xdp "$P" "be$i" | cut -d' ' -f2)" = slotlb_xdp ] ||
		die "slotlb_xdp not on be$i"
done

# --- 1. the slot's deployment answers, Maglev spreads -----------------
for fam in 4 6; do
	t0=$(now_ms)
	out=$(fetch_many "$fam" 20)
	took=$(($(now_ms) - t0))
	n1=$(grep -cxF "v1 $(names "$fam" 1)" <<<"$out")
	n2=$(grep -cxF "v1 $(names "$fam" 2)" <<<"$out")
	echo "# IPv$fam: 20 connections in $took ms: b1 $n1, b2 $n2"
	check "IPv$fam: 20 of 20 connections answered by v1 (b1/b2)" \
		all_from "$out" v1 "$fam" 1 2
	check "IPv$fam: Maglev spreads over both v1 backends ($n1/$n2)" \
		test "$n1" -gt 0 -a "$n2" -gt 0 -a $((n1 + n2)) -eq 20
done

# --- 2. switch the slot while a download is in flight ----------------
want_sha=$(dp_gen_sha $STREAM_BYTES)
declare -A dl_pid
for fam in 4 6; do
	rm -f "$STATE/dl$fam".*
	lab_exec_client "$P" "${DP_CURL[@]}" -m 20 -o "$STATE/dl$fam.body" \
		-D "$STATE/dl$fam.hdr" -w '%{local_port}' \
		"$(dp_url 1 "$fam" "/stream?bytes=$STREAM_BYTES&rate=$STREAM_RATE")" \
		>"$STATE/dl$fam.port" 2>&1 &
	dl_pid[$fam]=$!
done
t0=$(now_ms)
for fam in 4 6; do
	# Two of the server's paced writes: the transfer is under way.
	if ! dp_wait_bytes "$STATE/dl$fam.body" $((STREAM_RATE / 10)) 50; then
		check "IPv$fam download started" false
		kill "${dl_pid[4]}" "${dl_pid[6]}" 2>/dev/null
		checksums
		dp_finish datapath
	fi
done
dp "$P" routing set 0 2 4 || die "dpctl routing set 0 2 4"
at4=$(stat -c %s "$STATE/dl4.body")
at6=$(stat -c %s "$STATE/dl6.body")
echo "# switched to deployments 2/4 $(($(now_ms) - t0)) ms after start; downloads at $at4 / $at6 of $STREAM_BYTES bytes"
check "both downloads were in flight at the switch" \
	test "$at4" -lt $STREAM_BYTES -a "$at6" -lt $STREAM_BYTES

for fam in 4 6; do
	out=$(fetch_many "$fam" 10)
	echo "# IPv$fam after the switch: $(sort <<<"$out" | uniq -c | tr -s ' \n' ' ')"
	check "IPv$fam: 10 of 10 new connections answered by v2 (b3/b4)" \
		all_from "$out" v2 "$fam" 3 4
done

for fam in 4 6; do
	rc=0
	wait "${dl_pid[$fam]}" || rc=$?
	took=$(($(now_ms) - t0))
	got_sha=$(sha256sum <"$STATE/dl$fam.body" | cut -d' ' -f1)
	hdr_be=$(awk -F': ' 'tolower($1) == "x-slotlb-backend" { print $2 }' \
		"$STATE/dl$fam.hdr" | tr -d '\r')
	hdr_ver=$(awk -F': ' 'tolower($1) == "x-slotlb-version" { print $2 }' \
		"$STATE/dl$fam.hdr" | tr -d '\r')
	port=$(cat "$STATE/dl$fam.port")
	echo "# IPv$fam download: curl exit $rc after $took ms, $(stat -c %s "$STATE/dl$fam.body") bytes from $hdr_ver $hdr_be, client port $port"
	check "IPv$fam download completes (curl exit $rc)" test "$rc" -eq 0
	check "IPv$fam download sha256 is that of --gen-body $STREAM_BYTES" \
		test "$got_sha" = "$want_sha"
	check "IPv$fam download came from a v1 backend ($hdr_ver $hdr_be)" \
		all_from "$hdr_ver $hdr_be" v1 "$fam" 1 2
	# The flow entry pins the same backend in deployment 1 or 3.
	entry=$(dp "$P" flows | grep -F "established tcp $(lab_client_addr "$fam"):$port ->")
	echo "# $entry"
	check "IPv$fam download's flow entry pins $hdr_be of the v1 deployment" \
		grep -Eq "=> ${hdr_be//[\[\]]/}[^0-9].*deployment (1|3) " <<<"$entry"
	check "IPv$fam download's flow entry is marked closed (FIN both ways)" \
		grep -Eq " state [a-z,-]*closed " <<<"$entry"
done

# --- 3. counters; traffic that is no endpoint's takes the kernel path --
fwd=$(dp_stat "$P" forward)
rep=$(dp_stat "$P" reply)
echo "# forward $fwd, reply $rep packets; $(dp "$P" stats | awk '$2 > 0 { printf "%s=%s ", $1, $2 }')"
check "stats: forward packets counted ($fwd)" test "$fwd" -gt 0
check "stats: reply packets counted ($rep)" test "$rep" -gt 0
pass0=$(dp_stat "$P" pass_not_endpoint)
# The LB's own addresses on pub0 (docs/lab.md).
for lb in 198.18.0.1 fd00:5107::1; do
	fam=4
	[[ "$lb" == *:* ]] && fam=6
	got=$(dp_ping "$(lab_ns_client "$P")" "$fam" "$lb" 3)
	check "IPv$fam ping from the client to the LB's $lb: $got of 3 replies" \
		test "$got" = 3
done
pass1=$(dp_stat "$P" pass_not_endpoint)
check "the pings crossed the XDP program as pass_not_endpoint (+$((pass1 - pass0)))" \
	test $((pass1 - pass0)) -ge 6
out=$(lab_exec_client "$P" "${DP_CURL[@]}" \
	"http://$(lab_backend_addr 1 4):$LAB_HTTPD_PORT/")
check "direct connection to b1 (no endpoint) is routed by the kernel" \
	test "$out" = "v1 $(names 4 1)"

# --- 4. checksums ------------------------------------------------------
checksums

dp_finish datapath
