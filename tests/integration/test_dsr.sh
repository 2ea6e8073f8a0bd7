#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Direct server return, end to end: an app created with --mode dsr,
# backends running the lab httpd with `slotlb backend-agent` attached on
# their link to the balancer and a direct link of their own to the
# client (the path replies take). curl from the client gets the
# deployment in the slot; a 4 MB download comes back without the
# balancer receiving its bytes (its backend links' receive counters
# stay small while the client's direct links carry the body); swaps
# under load fail no request; and a keep-alive connection survives a swap
# on a balancer whose DSR flow table was cleared (a node that never saw
# the flow): its packets reach the new deployment's backend, whose agent
# finds no socket and sends them on to the second candidate, the backend
# the previous deployment chose, where the connection lives.
#
# Layout: production = v1 (b1), staging = v2 (b2); every backend
# serves both endpoint addresses (agent --endpoint) on port 8080, the
# endpoints' port: the inner packet is not rewritten.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=dsr$$
LOADCLIENT=$LAB_BUILD/tools/loadclient
VIP=$(lab_vip 1 4)
VIP_STAGING=$(lab_vip 2 4)
PORT=$LAB_HTTPD_PORT
CLIENT=$(lab_client_addr 4)
OUT=$(mktemp -d /tmp/slotlb-dsr.XXXXXX)
failures=0
SWAPS=6

# direct_link I: a link between backend I and the client that only the
# backend's replies to the client use (198.18.200+I.0/30).
direct_link()
{
	local i=$1 c b net=198.18.$((200 + $1))

	c=$(lab_ns_client "$P")
	b=$(lab_ns_backend "$P" "$i")
	ip -n "$b" link add d0 type veth peer name "r$i" netns "$c" &&
		ip -n "$b" addr add "$net.2/30" dev d0 &&
		ip -n "$b" link set d0 up &&
		ip -n "$b" route add "$CLIENT/32" via "$net.1" dev d0 &&
		ip -n "$c" addr add "$net.1/30" dev "r$i" &&
		ip -n "$c" link set "r$i" up &&
		ip netns exec "$c" sysctl -qw "net.ipv4.conf.r$i.rp_filter=0" \
			net.ipv4.conf.all.rp_filter=0
}

# rx_bytes NS DEV
rx_bytes()
{
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_bytes"
}

lb_rx_from_backends()
{
	local i sum=0

	for i in 1 2; do
		sum=$((sum + $(rx_bytes "$(lab_ns_lb "$P")" "be$i")))
	done
	echo $sum
}

client_rx_direct()
{
	local i sum=0

	for i in 1 2; do
		sum=$((sum + $(rx_bytes "$(lab_ns_client "$P")" "r$i")))
	done
	echo $sum
}

# fetch URL-PATH: the body's first word (the version) of one request.
version_of()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 \
		-H 'Connection: close' "http://$VIP:$PORT$1" | cut -d' ' -f1
}

# agent_count NAME: the agents' counter NAME summed over b1, b2.
agent_count()
{
	local i n sum=0

	for i in 1 2; do
		n=$(lab_exec_backend "$P" "$i" "$CTL_CLI" -o json \
			backend-agent status eth0 |
			python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])")
		sum=$((sum + ${n:-0}))
	done
	echo $sum
}

# dsr_flows_clear: forget every DSR pin of the balancer's program, as a
# node that never saw the flows (the map is not pinned: found through
# the program attached to pub0).
dsr_flows_clear()
{
	ip netns exec "$(lab_ns_lb "$P")" python3 - <<-'EOF'
		import json, subprocess
		def run(*a):
		    return json.loads(subprocess.check_output(a))
		prog = run("ip", "-j", "link", "show", "pub0")[0]["xdp"]["prog"]["id"]
		for m in run("bpftool", "-j", "prog", "show", "id", str(prog))["map_ids"]:
		    if run("bpftool", "-j", "map", "show", "id", str(m))["name"] != "dsr_flows":
		        continue
		    keys = [e["key"] for e in run("bpftool", "-j", "map", "dump", "id", str(m))]
		    cmds = "".join("map delete id %d key hex %s\n" % (m, " ".join(k[2:] for k in key))
		                   for key in keys)
		    if cmds:
		        subprocess.run(["bpftool", "batch", "file", "-"], input=cmds.encode(),
		                       check=True, stdout=subprocess.DEVNULL)
		    print(len(keys), len(run("bpftool", "-j", "map", "dump", "id", str(m))))
	EOF
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
	"$LOADCLIENT"
need_tools curl python3 bpftool


ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || exit 1
lab_start_httpd "$P" 2 v2 || exit 1
for i in 1 2; do
	need "direct link b$i - client" direct_link $i
	lab_exec_backend "$P" $i "$CTL_CLI" backend-agent attach eth0 \
		--endpoint "$VIP" --endpoint "$VIP_STAGING" --force \
		>"$OUT/agent$i.out" 2>&1
	need "backend-agent attach on b$i: $(grep -c . "$OUT/agent$i.out") lines said" \
		grep -q "decapsulation program attached" "$OUT/agent$i.out"
done
cat "$OUT/agent1.out"
ctl_start "$P" || exit 1
need "attach pub0, be1, be2" ctl_attach_all "$P" 2
need "app web --mode dsr, slot staging" eval "ctl_cli $P app create web \
	--endpoint $VIP:$PORT --mode dsr >/dev/null && ctl_cli $P slot \
	create web --slot staging --endpoint $VIP_STAGING:$PORT >/dev/null"
check "an IPv6 endpoint is refused for a dsr app, with a reason" eval \
	"! ctl_cli $P slot create web --slot v6 --endpoint \
	'[$(lab_vip 3 6)]:$PORT' 2>$OUT/v6.err && grep -q 'IPv4 endpoints only' \
	$OUT/v6.err"
check "--mode other is refused" eval "! ctl_cli $P app create x \
	--endpoint $(lab_vip 4 4):$PORT --mode ipip 2>/dev/null"
be() { echo "$(lab_backend_addr "$1" 4):$PORT"; }
need "deploy v1 (b1) to production, v2 (b2) to staging" eval \
	"ctl_cli $P deploy web --slot production --backend $(be 1) \
	--version v1 >/dev/null && ctl_cli $P deploy web --slot staging \
	--backend $(be 2) --version v2 >/dev/null"
check "status shows the mode" eval "ctl_cli $P status web | grep -q 'web \[dsr\]'"
check "-o json status says mode dsr" eval \
	"ctl_cli $P -o json status web | grep -q '\"mode\": *\"dsr\"'"
ctl_cli "$P" export web >"$OUT/web.json" 2>&1
check "export keeps the mode" grep -q '"mode": *"dsr"' "$OUT/web.json"
sed 's/"dsr"/"nat"/' "$OUT/web.json" >"$OUT/nat.json"
check "apply refuses to change an app's mode, naming it" eval \
	"! ctl_cli $P apply -f $OUT/nat.json 2>$OUT/apply.err && \
	grep -q 'mode does not change' $OUT/apply.err"
check "apply of its own export is accepted (dry run)" eval \
	"ctl_cli $P apply -f $OUT/web.json --dry-run >$OUT/apply.out 2>&1"

# --- requests and where their replies go ----------------------------------
bad=0
for ((k = 0; k < 10; k++)); do
	[ "$(version_of /)" = v1 ] || bad=$((bad + 1))
done
check "10 new connections through the dsr endpoint: all v1 ($bad not)" \
	[ $bad -eq 0 ]
lb0=$(lb_rx_from_backends)
cl0=$(client_rx_direct)
DL=4000000
lab_exec_client "$P" curl -s --noproxy '*' -m 20 -o "$OUT/big.body" \
	"http://$VIP:$PORT/stream?bytes=$DL"
lb1=$(lb_rx_from_backends)
cl1=$(client_rx_direct)
want_sum=$("$LAB_HTTPD" --gen-body $DL | sha256sum | cut -d' ' -f1)
check "4 MB download through the dsr endpoint, byte for byte" \
	[ "$(sha256sum <"$OUT/big.body" | cut -d' ' -f1)" = "$want_sum" ]
check "its bytes came over the direct links ($((cl1 - cl0)) bytes)" \
	[ $((cl1 - cl0)) -ge $DL ]
check "the balancer received no reply: $((lb1 - lb0)) bytes from the backends (< 200000)" \
	[ $((lb1 - lb0)) -lt 200000 ]

# --- second chance on a balancer that lost the flow -------------------------
# A keep-alive connection: one request on v1, then the balancer loses
# its DSR flow table (cleared) and v2 is swapped in, then a second
# request on the same connection. Its packets reach v2's backend first,
# whose agent finds no socket and sends them on to v1's.
fwd0=$(agent_count forward_second)
rm -f "$OUT/ka.ready" "$OUT/ka.go"
lab_exec_client "$P" timeout 90 python3 - "$VIP" "$PORT" "$OUT" \
	>"$OUT/ka.out" 2>&1 <<-'EOF' &
	import hashlib, http.client, os, sys, time
	vip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	c = http.client.HTTPConnection(vip, port, timeout=30)
	c.request("GET", "/stream?bytes=500000")
	r = c.getresponse()
	b = r.read()
	first = (r.getheader("x-slotlb-version"), len(b), c.sock.getsockname())
	open(out + "/ka.ready", "w").write("%s %d\n" % first[:2])
	t = time.time()
	while not os.path.exists(out + "/ka.go") and time.time() - t < 60:
	    time.sleep(0.05)
	c.request("GET", "/stream?bytes=2000000")
	r = c.getresponse()
	b = r.read()
	print(first[0], first[1], r.getheader("x-slotlb-version"), len(b),
	      hashlib.sha256(b).hexdigest(),
	      "same" if c.sock.getsockname() == first[2] else "new")
	EOF
ka_pid=$!
for ((try = 0; try < 300; try++)); do
	[ -s "$OUT/ka.ready" ] && break
	sleep 0.1
done
need "keep-alive connection: first answer $(cat "$OUT/ka.ready" 2>/dev/null)" \
	grep -q '^v1 500000$' "$OUT/ka.ready"
cleared=$(dsr_flows_clear)
need "the balancer's DSR flow table cleared (deleted, left: $cleared)" \
	[ "${cleared#* }" = 0 ]
need "swap: v2 into production" eval \
	"ctl_cli $P slot swap web --slot staging >/dev/null"
touch "$OUT/ka.go"
wait $ka_pid
read -r _ _ ka_version ka_len ka_sum ka_conn <"$OUT/ka.out"
want_sum=$("$LAB_HTTPD" --gen-body 2000000 | sha256sum | cut -d' ' -f1)
check "second request on the connection after the swap: $ka_version, $ka_len bytes, $ka_conn connection ($(tail -1 "$OUT/ka.out"))" \
	[ "$ka_version/$ka_len/$ka_conn" = "v1/2000000/same" ]
check "its body byte for byte" [ "$ka_sum" = "$want_sum" ]
fwd1=$(agent_count forward_second)
check "v2's agent sent its packets on to the second candidate ($((fwd1 - fwd0)) packets)" \
	[ $((fwd1 - fwd0)) -gt 0 ]
check "new connections get v2 now" [ "$(version_of /)" = v2 ]

# --- swaps under load -----------------------------------------------------
lab_exec_client "$P" timeout 20 "$LOADCLIENT" --target "$VIP:$PORT" \
	--keepalive 8 --new-rate 100 --duration 10 --expect-versions v1,v2 \
	--json "$OUT/load.json" 2>"$OUT/load.err" &
load_pid=$!
sleep 1
swap_fail=0
for ((k = 1; k <= SWAPS; k++)); do
	ctl_cli "$P" slot swap web --slot staging >"$OUT/swap.out" 2>&1 ||
		swap_fail=$((swap_fail + 1))
	sleep 0.3
done
sleep 1
pkill -TERM -f -- "--json $OUT/load.json" ||
	echo "# load client gone before the end of the swaps"
wait $load_pid
# The load client's summary, once: ok failed reasons errors versions.
read -r l_ok l_failed l_errors l_reasons l_versions < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["requests_ok"], d["requests_failed"],
      d["connect_errors"] + d["resets"] + d["io_errors"],
      json.dumps(d["failed_by_reason"], separators=(",", ":")),
      json.dumps(d["versions"], separators=(",", ":")))' "$OUT/load.json")
check "$SWAPS swaps, each exit 0 ($swap_fail failed)" [ $swap_fail -eq 0 ]
check "load: zero failed requests ($l_failed; $l_reasons)" \
	[ "$l_failed" = 0 ]
check "load: zero connect errors, resets, io errors ($l_errors)" \
	[ "$l_errors" = 0 ]
check "load ran: $l_ok requests ok (at least 500), versions $l_versions" \
	[ "${l_ok:-0}" -ge 500 ]
check "production serves v2 again after $SWAPS swaps" [ "$(version_of /)" = v2 ]

echo "figures: balancer rx from backends during 4 MB: $((lb1 - lb0)) bytes; client direct rx: $((cl1 - cl0)); load ok $l_ok; second-chance forwards $((fwd1 - fwd0))"
[ "$failures" -eq 0 ]
