#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make demo-health`: a backend dies and leaves the pool, and no request
# fails. A veth lab (client, load balancer, three backends of v1 in
# production) with a health policy on production (probe every 0.25 s,
# down after 2 failures). Under a steady 50 new connections per second,
# backend b2's host dies (its only link goes down, so nothing answers: no
# reset, no refusal). Within half a second b2 leaves the ring; a SYN the
# client had sent to it is retransmitted a second later and lands on a
# healthy backend, so every request succeeds, a little later. The host
# comes back and b2 returns. Prints status before, during and after, the
# per-second answers and the history; tears the lab down (also on
# Ctrl-C). Exits non-zero when a request failed or a step did not happen.
# A request already sent to b2 when its host died would be lost with it
# (there is nobody left to answer it): at 50 requests per second of a
# millisecond or two each, that is rare, and the demo says so if it
# happens. docs/demo.md.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh

P=demohc
VIP=198.18.100.1
LOADCLIENT=$LAB_BUILD/tools/loadclient
OUT=$(mktemp -d /tmp/slotlb-demo-health.XXXXXX)
fail=0

cli()
{
	ctl_cli "$P" "$@"
}

ms()
{
	date +%s%3N
}

# health ADDR: b's health as status shows it.
health()
{
	cli -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    for b in (s["deployment"] or {}).get("backends", []):
        if b["address"] == sys.argv[1]:
            h = b["health"]
            print("-" if h is None else h["state"] + ("" if h["in_ring"] else " (out of the ring)"))' "$1"
}

wait_for()
{
	local addr=$1 want=$2 t0
	t0=$(ms)
	while [ "$(health "$addr")" != "$want" ]; do
		[ $(($(ms) - t0)) -gt 10000 ] && return 1
		sleep 0.05
	done
	echo $(($(ms) - t0))
}

step()
{
	printf '\n\033[1m== %s\033[0m\n' "$*"
}

trap '[ -n "${DEMO_KEEP_DIR:-}" ] && cp "$(ctl_dir "$P")/slotlbd.log" "$OUT"/* "$DEMO_KEEP_DIR"/ 2>/dev/null; ctl_cleanup_all; rm -rf "$OUT"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
LAB_CLEANUP_PREFIXES+=("$P")
for b in "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LOADCLIENT"; do
	[ -x "$b" ] || { echo "Error: $b: not built (make)"; exit 1; }
done
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" "$i" v1 || exit 1
done
ctl_start "$P" ${DEMO_KEEP_DIR:+-v} || exit 1
ctl_attach_all "$P" 3 || exit 1
b() { echo "$(lab_backend_addr "$1" 4):$LAB_HTTPD_PORT"; }
cli app create web --endpoint "$VIP:80" >/dev/null || exit 1
cli deploy web --slot production --backend "$(b 1)" --backend "$(b 2)" \
	--backend "$(b 3)" --version v1 >/dev/null || exit 1

step "health checks on production: every 0.25 s, out after 2 failures"
cli slot health web --slot production --interval 0.25 --timeout 0.25 \
	--unhealthy-after 2 --healthy-after 2 || exit 1
wait_for "$(b 2)" up >/dev/null || { echo "b2 never probed"; exit 1; }
cli status web

step "50 new connections per second for 10 s; b2's host dies at 3 s"
lab_exec_client "$P" timeout 30 "$LOADCLIENT" --target "$VIP:80" \
	--new-rate 50 --duration 10 --timeout-ms 3000 --interval-ms 1000 \
	--json "$OUT/load.json" &
load=$!
sleep 3
t_dead=$(ms)
ip -n "$(lab_ns_backend "$P" 2)" link set eth0 down
if took=$(wait_for "$(b 2)" "down (out of the ring)"); then
	echo "b2's host died; status showed it out of the ring $took ms later"
else
	echo "FAIL: b2 never left the ring"
	fail=1
fi
cli status web
wait "$load"
python3 - "$OUT/load.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("second  ok  failed  by backend")
for row in d["timeline"]:
    print("%6d  %3d  %6d" % (row["t_ms"] // 1000, row["ok"], row["failed"]))
print("total: %d ok, %d failed, %d connect errors" %
      (d["requests_ok"], d["requests_failed"], d["connect_errors"]))
EOF
read -r ok failed cerr < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["requests_ok"], d["requests_failed"], d["connect_errors"])' \
	"$OUT/load.json")
if [ "$failed" -ne 0 ] || [ "$cerr" -ne 0 ]; then
	echo "FAIL: $failed requests failed, $cerr connections failed" \
		"(a request already on b2 when its host died is lost with it)"
	fail=1
else
	echo "no request failed: $ok answered while b2 died and left the pool"
fi

step "b2's host comes back"
ip -n "$(lab_ns_backend "$P" 2)" -batch - <<EOF
link set eth0 up
route add default via $(lab_backend_gw 2 4)
EOF
if took=$(wait_for "$(b 2)" up); then
	echo "b2 back in the ring $took ms after its link came up"
else
	echo "FAIL: b2 never came back"
	fail=1
fi
cli status web
step "history"
cli history web
echo
[ "$fail" -eq 0 ] && echo "demo-health: OK" || echo "demo-health: FAILED"
exit "$fail"
