#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Metrics with the real thing: Debian's prometheus, started by this test
# in the lab's client namespace (its own storage directory, a 1 s scrape
# interval, at most 150 s), scrapes slotlbd's --metrics-listen across the
# lab's link. After traffic to v1, a swap and traffic to v2, Prometheus's
# HTTP API must show:
#  (a) the target up, and promtool check metrics passing on the text;
#  (b) new flows and packets of the v2 deployment (and of its backend)
#      moved after the swap, v1's before it;
#  (c) one successful swap counted, the routing generation changed, the
#      warm-up and switch histograms filled;
#  (d) live flows pinned to the deployment while a slow download runs
#      (drain progress), and the flow table's capacity;
#  (e) every query of docs/grafana-dashboard.json (panels, annotations)
#      is PromQL this Prometheus evaluates, and the requests-per-version,
#      drain and traffic panels have data;
#  (f) the event hooks' counters: deliveries to an executable hook,
#      failed attempts and a given-up event of a URL hook where nothing
#      listens, nothing dropped.
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

P=me$$
METRICS=198.18.0.1:9419
PROM=127.0.0.1:9090 # in the client namespace
VIP=$(lab_vip 1 4)

need_tools curl python3 prometheus promtool
lab_check_caps || exit 77
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$DPCTL"
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
STATE=$(lab_state_dir "$P")
LOG=$(ctl_dir "$P")/slotlbd.log

# Prometheus first (it takes a while to start), bounded: killed with the
# lab's namespaces at the latest.
mkdir -p "$STATE/prom"
cat >"$STATE/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: slotlb
    static_configs:
      - targets: ['$METRICS']
EOF
lab_exec_client "$P" timeout 600 prometheus \
	--config.file="$STATE/prom/prometheus.yml" \
	--storage.tsdb.path="$STATE/prom/data" \
	--web.listen-address="$PROM" --log.level=warn \
	>"$STATE/prom/prometheus.log" 2>&1 &

ctl_start "$P" --metrics-listen "$METRICS" --metrics-backends \
	--drain-interval 200 || die "slotlbd: $(tail -3 "$LOG")"
ctl_attach_all "$P" 2 || die "attach"
cli app create web --endpoint "$VIP:80" >/dev/null || die "app create"
# (f): a hook that takes every event, one whose receiver is dead
hook_id()
{
	python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
LIVE=$(cli -o json hook add web --event deploy,swap --exec /bin/true |
	hook_id) || die "hook add (exec)"
DEAD=$(cli -o json hook add web --event deploy,swap \
	--url http://127.0.0.1:9/ | hook_id) || die "hook add (url)"
cli deploy web --slot production --backend "$(be 1)" --version v1 \
	>/dev/null || die "deploy v1"
cli slot create web --slot staging --endpoint "$(lab_vip 2 4):80" \
	>/dev/null || die "slot create"
cli deploy web --slot staging --backend "$(be 2)" --version v2 \
	>/dev/null || die "deploy v2"

# eventually PROMQL OP VALUE: wait (at most 30 s) until the first
# result of the query compares so with VALUE; print what it was. One
# python in the client namespace polls Prometheus's HTTP API.
EVENTUALLY_PY='
import json, operator, sys, time, urllib.parse, urllib.request
url, q, op, want = sys.argv[1:]
cmp = {"==": operator.eq, ">": operator.gt, ">=": operator.ge}[op]
got = ""
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url + "?" + urllib.parse.urlencode(
                {"query": q}), timeout=5) as f:
            r = json.load(f)["data"]["result"]
        got = r[0]["value"][1] if r else ""
        if got and cmp(float(got), float(want)):
            print("   %s = %s" % (q, got))
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.3)
print("   %s = %r (want %s %s)" % (q, got, op, want))
sys.exit(1)
'
eventually()
{
	nsenter --net="/run/netns/$(lab_ns_client "$P")" python3 -c \
		"$EVENTUALLY_PY" "http://$PROM/api/v1/query" "$@"
}

# query PROMQL: the first result's value now.
query()
{
	nsenter --net="/run/netns/$(lab_ns_client "$P")" python3 -c '
import json, sys, urllib.parse, urllib.request
with urllib.request.urlopen(sys.argv[1] + "?" + urllib.parse.urlencode(
        {"query": sys.argv[2]}), timeout=5) as f:
    r = json.load(f)["data"]["result"]
print(r[0]["value"][1] if r else "")' "http://$PROM/api/v1/query" "$1"
}

# requests N: N new connections to production.
requests()
{
	lab_exec_client "$P" bash -c 'for ((i = 0; i < $1; i++)); do
		curl -s --noproxy "*" -m 5 -o /dev/null "$2"; done' - "$1" \
		"http://$VIP/"
}

# --- (a) up, and the text is valid ---------------------------------------------
check "prometheus scrapes slotlbd (up == 1)" eventually 'up{job="slotlb"}' == 1
lab_exec_client "$P" curl -s -m 5 "http://$METRICS/metrics" >"$STATE/metrics.txt"
out=$(promtool check metrics <"$STATE/metrics.txt" 2>&1)
check "promtool check metrics passes ($out)" test -z "$out"

# --- (b) traffic, swap, traffic ---------------------------------------------------
requests 20
check "v1's new flows counted" eventually \
	'slotlb_deployment_new_flows_total{app="web",version="v1"}' '>=' 20
check "v1's backend counted" eventually \
	"slotlb_backend_packets_total{version=\"v1\",backend=\"$(be 1)\"}" '>' 0
check "the endpoint's packets counted" eventually \
	"slotlb_endpoint_packets_total{app=\"web\",slot=\"production\",endpoint=\"$VIP:80/tcp\"}" '>' 0
gen=$(query 'slotlb_routing_generation{app="web"}')
need "v2 has no flows before the swap" test "$(query \
	'slotlb_deployment_new_flows_total{app="web",version="v2"}')" = 0
cli slot swap web --slot staging >/dev/null || die "swap"
requests 20
check "v2's new flows moved after the swap" eventually \
	'slotlb_deployment_new_flows_total{app="web",version="v2"}' '>=' 20
check "... and v2's packets, in the last minute" eventually \
	'increase(slotlb_deployment_packets_total{app="web",version="v2"}[1m])' '>' 0
check "v2 is production now (deployment_info)" eventually \
	'slotlb_deployment_info{app="web",version="v2",slot="production",state="active"}' == 1

# --- (c) the swap itself ------------------------------------------------------------
check "one successful swap counted" eventually \
	'slotlb_operations_total{app="web",action="swap",outcome="ok"}' == 1
check "two deploys counted" eventually \
	'sum(slotlb_operations_total{app="web",action="deploy",outcome="ok"})' == 2
check "the routing generation changed (was $gen)" eventually \
	'slotlb_routing_generation{app="web"}' '>' "$gen"
check "one warm-up observed" eventually \
	'slotlb_warmup_duration_seconds_count{app="web",action="swap",outcome="ok"}' == 1
check "one switch observed, under a second" eventually \
	'slotlb_switch_duration_seconds_bucket{app="web",action="swap",le="1"}' == 1
check "forwarded packets by reason" eventually \
	'slotlb_packets_total{reason="forward"}' '>' 0

# --- (d) live flows and the table ---------------------------------------------------
# a slow download keeps one flow pinned to v2's backend for a while
lab_exec_client "$P" curl -s --noproxy '*' -m 20 -o /dev/null \
	"http://$VIP/stream?bytes=2000000&rate=100000" &
slow=$!
check "live flows of v2 while a download runs (drain progress)" eventually \
	'slotlb_deployment_live_flows{app="web",version="v2"}' '>=' 1
check "... and of its backend" eventually \
	"slotlb_backend_live_flows{version=\"v2\",backend=\"$(be 2)\"}" '>=' 1
check "the flow table holds flows" eventually 'slotlb_flow_table_flows' '>=' 1
check "the flow table's capacity" eventually \
	'slotlb_flow_table_capacity_flows' == "$CTL_FLOW_CAPACITY"
# --- (e) the dashboard's queries -----------------------------------------------------
DASH_PY='
import json, sys, urllib.parse, urllib.request
url, dash = sys.argv[1:]
d = json.load(open(dash))
queries = [("panel %d %s" % (p["id"], p["title"]), t["expr"], p["id"] in (1, 2, 3))
           for p in d["panels"] for t in p["targets"]]
queries += [("annotation " + a["name"], a["expr"], False)
            for a in d["annotations"]["list"]]
bad = 0
for name, q, want_data in queries:
    q = q.replace("$app", "web").replace("$__rate_interval", "1m")
    try:
        with urllib.request.urlopen(url + "?" + urllib.parse.urlencode(
                {"query": q}), timeout=5) as f:
            r = json.load(f)
        ok = r["status"] == "success" and (r["data"]["result"] or not want_data)
    except Exception as e:
        ok, r = False, str(e)
    if not ok:
        bad += 1
        print("   %s: %s -> %s" % (name, q, r))
print("   %d queries, %d bad" % (len(queries), bad))
sys.exit(1 if bad else 0)
'
check "the dashboard's queries evaluate, its main panels have data" \
	nsenter --net="/run/netns/$(lab_ns_client "$P")" python3 -c "$DASH_PY" \
	"http://$PROM/api/v1/query" docs/grafana-dashboard.json
# --- (f) event hooks ---------------------------------------------------------------
check "deploy, deploy, swap delivered to the exec hook" eventually \
	"slotlb_events_delivered_total{app=\"web\",hook=\"$LIVE\"}" == 3
check "the dead receiver's failed attempts counted" eventually \
	"slotlb_events_attempts_failed_total{app=\"web\",hook=\"$DEAD\"}" '>=' 4
check "... nothing delivered to it" eventually \
	"slotlb_events_delivered_total{app=\"web\",hook=\"$DEAD\"}" == 0
check "... and its first event given up (after 1+2+4+8 s)" eventually \
	"slotlb_events_failed_total{app=\"web\",hook=\"$DEAD\"}" '>=' 1
check "no event dropped" eventually 'slotlb_events_dropped_total' == 0
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
lab_exec_client "$P" curl -s -m 5 "http://$METRICS/metrics" >"$STATE/metrics.txt"
out=$(promtool check metrics <"$STATE/metrics.txt" 2>&1)
check "promtool check metrics passes after the swap, histograms in ($out)" \
	test -z "$out" -a -n "$(grep '^slotlb_warmup_duration_seconds_bucket' "$STATE/metrics.txt")"

if [ "$failures" -ne 0 ]; then
	echo "# slotlbd log:"
	tail -20 "$LOG" | sed 's/^/#   /'
	echo "# prometheus log:"
	tail -20 "$STATE/prom/prometheus.log" | sed 's/^/#   /'
	echo "FAIL: metrics: $failures check(s) failed"
	exit 1
fi
echo "PASS: metrics"
