#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The picture of docs/grafana-dashboard.json's first panels, made without
# Grafana (not in Debian): a lab run with traffic, a swap and a rollback,
# scraped every second by Debian's prometheus in the lab's client
# namespace; the dashboard's own queries are read back from Prometheus's
# HTTP API (query_range) and drawn with gnuplot.
#
#   tools/deps.sh docs && make && tools/dashboard/plot.sh [OUT.png]
#
# Root (network namespaces, XDP); about 90 s. Default OUT:
# docs/img/dashboard.png.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh

OUT=${1:-docs/img/dashboard.png}
P=db$$
METRICS=198.18.0.1:9419
PROM=127.0.0.1:9090
VIP=$(lab_vip 1 4)

for c in prometheus gnuplot curl python3; do
	command -v "$c" >/dev/null || { echo "Error: plot: needs $c (tools/deps.sh docs)" >&2; exit 1; }
done
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit 1
lab_start_httpd "$P" 1 v1 && lab_start_httpd "$P" 2 v2 || exit 1
STATE=$(lab_state_dir "$P")
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
lab_exec_client "$P" timeout 300 prometheus \
	--config.file="$STATE/prom/prometheus.yml" \
	--storage.tsdb.path="$STATE/prom/data" \
	--web.listen-address="$PROM" --log.level=warn \
	>"$STATE/prom/prometheus.log" 2>&1 &
ctl_start "$P" --metrics-listen "$METRICS" --drain-interval 250 || exit 1
ctl_attach_all "$P" 2 || exit 1
cli() { ctl_cli "$P" "$@" >/dev/null; }
cli app create web --endpoint "$VIP:80" &&
	cli deploy web --slot production \
		--backend "$(lab_backend_addr 1 4):$LAB_HTTPD_PORT" --version v1 &&
	cli slot create web --slot staging --endpoint "$(lab_vip 2 4):80" &&
	cli deploy web --slot staging \
		--backend "$(lab_backend_addr 2 4):$LAB_HTTPD_PORT" --version v2 ||
	exit 1
sleep 5 # Prometheus up and a few samples in

# Load for 75 s: a new connection every 50 ms. Before the swap and
# before the rollback, 8 downloads of 4 to 32 s start: they stay pinned
# to the version they started on and drain away after the change.
lab_exec_client "$P" bash -c '
end=$((SECONDS + 75))
while [ $SECONDS -lt $end ]; do
	curl -s --noproxy "*" -m 5 -o /dev/null "http://$1/"
	sleep 0.05
done' - "$VIP" &
load=$!
downloads()
{
	lab_exec_client "$P" bash -c 'for k in 1 2 3 4 5 6 7 8; do
		curl -s --noproxy "*" -m 60 -o /dev/null \
			"http://$1/stream?bytes=$((k * 400000))&rate=100000" &
	done; wait' - "$VIP" &
}
start=$(date +%s)
sleep 20
downloads
sleep 5
cli slot swap web --slot staging || exit 1
sleep 20
downloads
sleep 5
cli slot rollback web || exit 1
wait "$load"
sleep 25 # the last downloads finish, the last walks are scraped
end=$(date +%s)

# The dashboard's queries over the run, as CSV: seconds since start, then
# one column per series.
range()
{
	nsenter --net="/run/netns/$(lab_ns_client "$P")" python3 -c '
import json, sys, urllib.parse, urllib.request
url, q, start, end, key = sys.argv[1:]
args = urllib.parse.urlencode({"query": q, "start": start, "end": end, "step": "1"})
with urllib.request.urlopen(url + "?" + args, timeout=10) as f:
    res = json.load(f)["data"]["result"]
series = {r["metric"].get(key, "value"): dict(r["values"]) for r in res}
names = sorted(series)
times = sorted({t for s in series.values() for t in s})
print("t," + ",".join(names))
for t in times:
    print("%d,%s" % (t - int(start), ",".join(series[n].get(t, "NaN") for n in names)))
' "http://$PROM/api/v1/query_range" "$1" "$start" "$end" "$2"
}
dash=docs/grafana-dashboard.json
expr()
{
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = [p for p in d["panels"] if p["id"] == int(sys.argv[2])][0]
print(p["targets"][0]["expr"].replace("$app", "web").replace("$__rate_interval", "5s"))' "$dash" "$1"
}
range "$(expr 1)" version >"$STATE/requests.csv"
range "sum by (version) (slotlb_deployment_live_flows{app=\"web\"})" version >"$STATE/drain.csv"
range 'slotlb_routing_generation{app="web"}' app >"$STATE/generation.csv"
# swaps: the seconds at which the generation rose after the deploys
python3 -c '
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1]))][1:]
prev = None
for t, g in rows:
    if g != "NaN" and prev is not None and float(g) > prev:
        print(t)
    if g != "NaN":
        prev = float(g)' "$STATE/generation.csv" | tail -2 >"$STATE/swaps.txt"
echo "# swaps at: $(tr '\n' ' ' <"$STATE/swaps.txt")(s)"
gnuplot -e "dir='$STATE'; out='$OUT'" tools/dashboard/dashboard.gp || exit 1
echo "wrote $OUT"
