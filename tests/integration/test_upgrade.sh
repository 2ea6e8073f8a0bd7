#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (a download must still be in flight at the upgrade)
#
# An upgrade from an older layout keeps every connection, from each
# layout this build upgrades from. First layout 1: the data path of
# release 69017f1 (frozen in tests/fixtures/layout-v1 and loaded by its
# v1ctl) runs in a real lab, attached to the LB's three interfaces, its
# maps written as that release wrote them for the state in slotlbd's
# database. While a download, a keep-alive connection and a load client
# (keep-alive and new connections) run through it, this build's slotlbd
# starts on the same pin root: it upgrades the maps (the flow table is
# converted, and read by the new program until it is, the routing
# elements are converted) and replaces the program on every interface.
# The download completes intact on its backend, the keep-alive
# connection answers again from its backend on the same socket, no
# request fails, and the new features work on the converted state. Then
# the same with layout 2 (main at 821e6af, the last build before layout
# 3: frozen in tests/fixtures/layout-v2, loaded by its v2ctl with the
# interfaces' roles): its flow tables (flows4, flows6, flows_new) are
# converted to layout 3's, every other map kept. Then the layouts it
# must refuse: a newer version, its own version over other maps, a
# layout map saying 2 over other maps, an older layout map it knows no
# conversion from, maps of no known layout, and an older one without an
# upgrade allowed (dpctl), each refused with a clear message and left as
# it was.
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

P=up$$
V1CTL=$LAB_BUILD/tests/fixtures/layout-v1/v1ctl
V1OBJ=$LAB_BUILD/tests/fixtures/layout-v1/slotlb.bpf.o
V2CTL=$LAB_BUILD/tests/fixtures/layout-v2/v2ctl
LOADCLIENT=$LAB_BUILD/tools/loadclient
STREAM_BYTES=6000000
STREAM_RATE=250000
IFACES=(pub0 be1 be2)

v1ctl()
{
	ctl_exec_lb "$P" timeout 20 "$V1CTL" --pin-root "$PIN" "$@"
}

v2ctl()
{
	ctl_exec_lb "$P" timeout 30 "$V2CTL" --pin-root "$PIN" "$@"
}

# map_field MAP FIELD: a field of `bpftool map show` of a pinned map.
map_field()
{
	bpftool -j map show pinned "$PIN/$1" 2>/dev/null |
		python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

# programs: "IF:ID" of the XDP program on each LB interface.
programs()
{
	local i

	for i in "${IFACES[@]}"; do
		printf '%s:%s ' "$i" "$(dp_xdp "$P" "$i" | cut -d' ' -f1)"
	done
}

# layout_bytes: the pinned layout map's value, as bytes.
layout_bytes()
{
	bpftool -j map dump pinned "$PIN/layout" | python3 -c '
import json, sys
print(" ".join(str(int(b, 16)) for b in json.load(sys.stdin)[0]["value"]))'
}

# set_layout BYTES...: write the pinned layout map's value.
set_layout()
{
	bpftool map update pinned "$PIN/layout" key 0 0 0 0 value "$@"
}

# start_fails WHAT: slotlbd must refuse to start; its error holds WHAT.
start_fails()
{
	local log

	log=$(ctl_exec_lb "$P" timeout 30 "$CTL_SLOTLBD" --state-dir "$(ctl_dir "$P")" \
		--socket "$(ctl_dir "$P")/other.sock" --pin-root "$PIN" \
		--flow-capacity "$CTL_FLOW_CAPACITY" 2>&1)
	rc=$?
	echo "# slotlbd (exit $rc): $(grep Error <<<"$log")"
	[ "$rc" -ne 0 ] && grep -qF -- "$1" <<<"$log"
}

# cross_start: a download, a keep-alive connection and a load through
# the running data path, which the upgrade will cross.
cross_start()
{
	rm -f "$STATE/go" "$STATE/dl.body" "$STATE/dl.hdr" "$STATE/ka.out"
	lab_exec_client "$P" "${DP_CURL[@]}" -m 30 -o "$STATE/dl.body" \
		-D "$STATE/dl.hdr" \
		"http://198.18.100.1/stream?bytes=$STREAM_BYTES&rate=$STREAM_RATE" \
		>/dev/null 2>&1 &
	dl_pid=$!
	# A keep-alive connection: a GET now, another on the same socket
	# once the upgrade is done (the file "go" appears).
	# shellcheck disable=SC2016
	lab_exec_client "$P" python3 -c '
import os, socket, sys, time
s = socket.create_connection(("198.18.100.2", 80), timeout=10)
print(s.getsockname()[1], flush=True)
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
    return body.decode().strip()
print(get(), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print(get(), flush=True)
' "$STATE/go" >"$STATE/ka.out" 2>&1 &
	ka_pid=$!
	ka_t0=$(now_ms)
	lab_exec_client "$P" "$LOADCLIENT" --target 198.18.100.1:80 \
		--duration "$LOAD_S" --keepalive 4 --new-rate 50 \
		--path '/stream?bytes=1200&rate=20000' --expect-versions v1 \
		--json "$STATE/load.json" >/dev/null 2>&1 &
	load_pid=$!
	dp_wait_bytes "$STATE/dl.body" $((STREAM_RATE / 2)) 100 ||
		check "the download started" false
	for ((i = 0; i < 50; i++)); do
		[ "$(wc -l <"$STATE/ka.out")" -ge 2 ] && break
		sleep 0.1
	done
	ka_port=$(head -1 "$STATE/ka.out")
}

# cross_upgrade FROM SAID: this build's slotlbd upgrades the running
# data path of layout FROM, whose log line must match SAID (an ERE);
# the connections of cross_start cross it and keep their backends.
cross_upgrade()
{
	local from=$1 said=$2 t0 took at log ka_flow ka_age ka_idle ka_life
	local rc got_sha hdr ka ok failed cerr resets

	t0=$(now_ms)
	ctl_start "$P" || die "this build's slotlbd on the layout $from pins"
	took=$(($(now_ms) - t0))
	at=$(stat -c %s "$STATE/dl.body")
	# the idle keep-alive connection sent nothing since: only a
	# converted entry can list it as established
	ka_flow=$(cli -o json flows web --slot staging | python3 -c '
import json, sys
for f in json.load(sys.stdin)["flows"]:
    if f["client"].endswith(":" + sys.argv[1]):
        print(f["backend"], f["state"])
        print(f["age_ms"], f["idle_ms"])' "$ka_port")
	{ read -r ka_age ka_idle; } < <(sed -n 2p <<<"$ka_flow")
	ka_flow=$(head -1 <<<"$ka_flow")
	ka_life=$(($(now_ms) - ka_t0))
	touch "$STATE/go"
	log=$(grep 'upgraded the pinned maps' "$(ctl_dir "$P")/slotlbd.log" |
		tail -1)
	echo "# slotlbd up in $took ms, download at $at of $STREAM_BYTES bytes: ${log#*: }"
	check "slotlbd says it upgraded layout $from: ${said//\\/}" \
		grep -qE "$said" <<<"$log"
	rc=0
	wait "$dl_pid" || rc=$?
	got_sha=$(sha256sum <"$STATE/dl.body" | cut -d' ' -f1)
	hdr=$(awk -F': ' 'tolower($1) == "x-slotlb-version" { print $2 }' \
		"$STATE/dl.hdr" | tr -d '\r')
	wait "$ka_pid"
	ka=$(tail -n +2 "$STATE/ka.out" | paste -sd'|')
	wait "$load_pid"
	read -r ok failed cerr resets < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["requests_ok"], j["requests_failed"], j["connect_errors"],
      j["resets"] + j["io_errors"])' "$STATE/load.json")
	echo "# load failures by reason: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["failed_by_reason"])' "$STATE/load.json")"
	echo "# download: curl exit $rc, $(stat -c %s "$STATE/dl.body") bytes from $hdr; keep-alive: $ka; load: $ok ok, $failed failed, $cerr connect errors, $resets resets"
	check "layout $from: the upgrade happened while the download was in flight" \
		test "$at" -lt $STREAM_BYTES
	check "layout $from: the idle keep-alive connection (port $ka_port) is a flow of the new table before it speaks again: $ka_flow" \
		test "$ka_flow" = "198.19.2.2:8080 open"
	check "layout $from: its age is estimated from its last packets, as layout $from kept no start: idle <= age <= its life ($ka_idle <= $ka_age <= $ka_life ms)" \
		test -n "$ka_age" -a "${ka_idle:-1}" -le "${ka_age:-0}" -a "${ka_age:-0}" -le "$ka_life"
	check "layout $from: the download completed, sha256 intact, on its backend (v1)" \
		test "$rc" -eq 0 -a "$got_sha" = "$want_sha" -a "$hdr" = v1
	check "layout $from: the keep-alive connection answered again from its backend, on the same socket" \
		test "$ka" = "v2 198.19.2.2:8080|v2 198.19.2.2:8080"
	check "layout $from: no request of the load failed across the upgrade" \
		test "$ok" -gt 0 -a "$failed" -eq 0 -a "$cerr" -eq 0 -a "$resets" -eq 0
}

dp_preflight
need_tools bpftool python3
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$V1CTL" "$V1OBJ" "$V2CTL" \
	"$LOADCLIENT"
ctl_trap_cleanup "$P"
PIN=$(ctl_pin_root "$P")
LAB_CLEANUP_DIRS+=("$PIN-upgrade" "$PIN-v1" "$PIN-bogus")
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"

# --- the database, as the previous release's slotlbd would have it -----
# This build's slotlbd and CLI write it (the schema migrates on its
# own); the pins they make on the way are removed again.
ctl_start "$P" || die "slotlbd (seeding the database)"
{
	ctl_attach_all "$P" 2 &&
		cli app create web --endpoint 198.18.100.1:80 &&
		cli slot create web --slot staging --endpoint 198.18.100.2:80 &&
		cli deploy web --slot production --backend "$(be 1)" \
			--version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" --version v2
} >/dev/null || die "seed the database"
ctl_stop "$P" || die "stop slotlbd"
for i in "${IFACES[@]}"; do
	ip -n "$(lab_ns_lb "$P")" link set dev "$i" xdp off || die "detach $i"
done
rm -r "$PIN" || die "remove the seeding pins"

# --- the previous release's data path over the same state ---------------
mkdir -p "$PIN" || die "pin root"
{
	v1ctl up "$V1OBJ" "$CTL_FLOW_CAPACITY" "${IFACES[@]}" &&
		v1ctl backend 1 "$(lab_backend_addr 1)" "$LAB_HTTPD_PORT" &&
		v1ctl backend 2 "$(lab_backend_addr 2)" "$LAB_HTTPD_PORT" &&
		v1ctl deployment 1 0 v1 1 &&
		v1ctl deployment 2 0 v2 2 &&
		v1ctl endpoint 198.18.100.1 80 0 0 0 &&
		v1ctl endpoint 198.18.100.2 80 0 1 1 &&
		v1ctl routing 0 3 1 2
} || die "layout 1 data path"
prod=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
stg=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.2/ | cut -d' ' -f1)
before_progs=$(programs)
flows_id=$(map_field flows id)
echo "# layout 1 running: production -> $prod, staging -> $stg; programs $before_progs; routing_pool $(map_field routing_pool bytes_value)-byte values, flows map id $flows_id"
need "the previous release's data path serves production (v1) and staging (v2)" \
	test "$prod $stg" = "v1 v2"
need "no layout map pinned by the previous release" test ! -e "$PIN/layout"

# --- connections that cross the upgrade ----------------------------------
want_sha=$(dp_gen_sha $STREAM_BYTES)
LOAD_S=25
cross_start
cross_upgrade 1 'from layout 1 to 3: 10 maps kept as they were, 3 converted \(routing_pool, reason_stats, flows: [0-9]+ entries\), the program replaced on 3 interfaces'

after_progs=$(programs)
echo "# programs $before_progs -> $after_progs; routing_pool $(map_field routing_pool bytes_value)-byte values; old flows map id $flows_id; layout [$(layout_bytes)]"
check "the program was replaced on every interface" \
	test -z "$(for i in "${IFACES[@]}"; do
		[ "$(grep -o "$i:[0-9]*" <<<"$before_progs")" != \
			"$(grep -o "$i:[0-9]*" <<<"$after_progs")" ] ||
			echo "$i"
	done)"
# legacy_flows: the old flow table the new program read while the
# upgrade ran (bpf/upgrade.bpf.h); emptied once every flow is converted
legacy=$(bpftool -j prog show id "$(dp_xdp "$P" pub0 | cut -d' ' -f1)" |
	python3 -c '
import json, subprocess, sys
for m in json.load(sys.stdin).get("map_ids", []):
    show = json.loads(subprocess.check_output(
        ["bpftool", "-j", "map", "show", "id", str(m)]))
    if show.get("name") == "legacy_flows":
        print(len(json.loads(subprocess.check_output(
            ["bpftool", "-j", "map", "dump", "id", str(m)]))))')
check "the new program no longer reads layout 1's flow table (legacy_flows: ${legacy:-no such map} elements)" \
	test "$legacy" = 0
check "layout 1's flow table is gone, its flows are in flows4 ($(map_field flows4 max_entries) entries)" \
	test ! -e "$PIN/flows" -a "$(map_field flows4 max_entries)" = "$CTL_FLOW_CAPACITY"
check "the routing elements are of this layout (552 bytes)" \
	test "$(map_field routing_pool bytes_value)" = 552
check "the layout map says 3" test "$(layout_bytes | cut -d' ' -f1-4)" = "3 0 0 0"
check "no staging directory left" test ! -e "$PIN-upgrade"
check "the converted element routes both slots" \
	grep -qx 'slot 1 deployment 2' <<<"$(routing_show 0)"
new=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
cli slot traffic web --distribution staging=100 >/dev/null ||
	check "traffic routing on the upgraded maps" false
split=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
echo "# after the upgrade: production -> $new; with staging=100 -> $split"
check "new connections go through the new program (v1), and its traffic rules work (v2 at 100%)" \
	test "$new $split" = "v1 v2"

# --- layout 2 (main at 821e6af) under the same state ---------------------
# The traffic rule goes, so the reconciled state routes as layout 2 did.
cli slot traffic web --clear >/dev/null || die "clear the traffic rule"
ctl_stop "$P" || die "stop slotlbd"
for i in "${IFACES[@]}"; do
	ip -n "$(lab_ns_lb "$P")" link set dev "$i" xdp off || die "detach $i"
done
rm -r "$PIN" || die "remove the layout 3 pins"
mkdir -p "$PIN" || die "pin root"
{
	v2ctl up "$CTL_FLOW_CAPACITY" pub0:public be1:backend be2:backend &&
		v2ctl backend 1 "$(lab_backend_addr 1)" "$LAB_HTTPD_PORT" &&
		v2ctl backend 2 "$(lab_backend_addr 2)" "$LAB_HTTPD_PORT" &&
		v2ctl deployment 1 0 v1 1 &&
		v2ctl deployment 2 0 v2 2 &&
		v2ctl endpoint 198.18.100.1 80 0 0 0 &&
		v2ctl endpoint 198.18.100.2 80 0 1 1 &&
		v2ctl routing 0 3 1 2
} || die "layout 2 data path"
prod=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
stg=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.2/ | cut -d' ' -f1)
before_progs=$(programs)
index_id=$(map_field reply_index id)
roles=$(bpftool -j map dump pinned "$PIN/ifaces" | python3 -c '
import json, sys
print(sorted(str(e["value"]) for e in json.load(sys.stdin)
             if any(int(b, 16) for b in e["value"])))')
echo "# layout 2 running: production -> $prod, staging -> $stg; programs $before_progs; layout [$(layout_bytes)]; flows4 $(map_field flows4 bytes_value)-byte, flows_new $(map_field flows_new bytes_value)-byte values"
need "layout 2's data path serves production (v1) and staging (v2)" \
	test "$prod $stg" = "v1 v2"
need "its layout map says 2" test "$(layout_bytes | cut -d' ' -f1-4)" = "2 0 0 0"
# a shorter load than layout 1's: the upgrade (5-13 s here) falls inside
LOAD_S=20
cross_start
cross_upgrade 2 'from layout 2 to 3: 22 maps kept as they were, 3 converted \(flows4, flows6, flows_new: [0-9]+ entries\), the program replaced on 3 interfaces'
after_progs=$(programs)
echo "# programs $before_progs -> $after_progs; flows4 $(map_field flows4 bytes_value)-byte, flows_new $(map_field flows_new bytes_value)-byte values; layout [$(layout_bytes)]"
check "layout 2: the program was replaced on every interface" \
	test -z "$(for i in "${IFACES[@]}"; do
		[ "$(grep -o "$i:[0-9]*" <<<"$before_progs")" != \
			"$(grep -o "$i:[0-9]*" <<<"$after_progs")" ] ||
			echo "$i"
	done)"
check "layout 2: the flow tables are of this layout (flows4 60 bytes, flows_new 56), at the same capacity" \
	test "$(map_field flows4 bytes_value) $(map_field flows_new bytes_value) $(map_field flows4 max_entries)" = "60 56 $CTL_FLOW_CAPACITY"
check "layout 2: the reply index is the very same map (id $index_id)" \
	test "$(map_field reply_index id)" = "$index_id"
check "layout 2: the interfaces keep their roles" \
	test "$(bpftool -j map dump pinned "$PIN/ifaces" | python3 -c '
import json, sys
print(sorted(str(e["value"]) for e in json.load(sys.stdin)
             if any(int(b, 16) for b in e["value"])))')" = "$roles"
check "layout 2: the layout map says 3" test "$(layout_bytes | cut -d' ' -f1-4)" = "3 0 0 0"
check "layout 2: no staging directory left" test ! -e "$PIN-upgrade"
new=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
check "layout 2: new connections go through the new program ($new)" \
	test "$new" = v1

# --- layouts it must refuse, left as they are -----------------------------
ctl_stop "$P" || die "stop slotlbd"
good=$(layout_bytes)
pool_id=$(map_field routing_pool id)
read -r -a fp <<<"$good"
set_layout 99 0 0 0 "${fp[@]:4}" || die "layout 99"
check "a newer layout: refused" \
	start_fails "pinned maps have layout 99, newer than this build's 3"
check "... and left as it was" test "$(layout_bytes | cut -d' ' -f1)" = 99
set_layout 2 0 0 0 "${fp[@]:4}" || die "layout 2"
check "a layout map saying 2 over layout 3's maps: refused, naming the map" \
	start_fails "flows4: pinned with key 16, value 60 bytes, type 1, flags 0: not layout 2's (key 16, value 56 bytes)"
set_layout 1 0 0 0 "${fp[@]:4}" || die "layout 1"
check "an older layout map it has no conversion from (layout 1 pinned none): refused" \
	start_fails "pinned maps have layout 1, which this build (layout 3) cannot upgrade"
set_layout 3 0 0 0 $(((fp[4] + 1) % 256)) "${fp[@]:5}" || die "fingerprint"
check "its own version over other maps: refused" \
	start_fails "a map changed without a new SLOTLB_LAYOUT_VERSION"
set_layout "${fp[@]}" || die "restore the layout"
check "the routing pool is still the same map" \
	test "$(map_field routing_pool id)" = "$pool_id"
served=$(lab_exec_client "$P" "${DP_CURL[@]}" http://198.18.100.1/ | cut -d' ' -f1)
check "traffic flows all along (the program stays attached): $served" \
	test "$served" = v1
ctl_start "$P" || die "slotlbd after the refusals"
check "with the layout restored, slotlbd starts" \
	test -n "$(cli status web)"

# Maps of no layout it knows, no layout map: refused, untouched.
mkdir -p "$PIN-bogus" &&
	bpftool map create "$PIN-bogus/routing_pool" type array key 4 \
		value 100 entries 10 name routing_pool || die "bogus pins"
out=$(ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$PIN-bogus" \
	--upgrade stats 2>&1)
rc=$?
echo "# dpctl on unknown maps (exit $rc): $out"
check "unknown maps: refused, naming the map" \
	test "$rc" -ne 0 -a -n "$(grep -F 'routing_pool is pinned with key 4, value 100 bytes' <<<"$out")"
check "... and left as they were" \
	test "$(ls "$PIN-bogus")" = routing_pool

# Layout 1 without --upgrade: refused; with it: upgraded (no interface).
mkdir -p "$PIN-v1" &&
	ctl_exec_lb "$P" timeout 20 "$V1CTL" --pin-root "$PIN-v1" up "$V1OBJ" 1024 ||
	die "a second layout 1 pin root"
out=$(ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$PIN-v1" stats 2>&1)
rc=$?
echo "# dpctl on layout 1 (exit $rc): $out"
check "layout 1 without an upgrade allowed: refused, saying an upgrade converts it" \
	test "$rc" -ne 0 -a -n "$(grep -F 'pinned maps have layout 1, this build 3: an upgrade converts them' <<<"$out")"
out=$(ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$PIN-v1" --upgrade stats 2>&1 >/dev/null)
rc=$?
echo "# dpctl --upgrade (exit $rc): $out"
check "dpctl --upgrade upgrades it" \
	test "$rc" -eq 0 -a -n "$(grep -F 'from layout 1 to 3' <<<"$out")"

drops=$(dp_drops "$P")
check "no packet dropped by the data path after the upgrade (${drops:-none})" \
	test -z "$drops"
dp_finish upgrade
