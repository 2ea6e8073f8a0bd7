#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two nodes of a fleet, talking to etcd over TLS (etcds://, a client
# certificate; etcd refuses plain HTTP and clients without one), swap
# the same app at the same instant, round
# after round: each swap is one etcd transaction that compares the
# log's head, so they never interleave. Every call answers 200 or 409
# (nothing else), the swaps that answered 200 are exactly the swaps in
# the history, both nodes hold the same history (one order), each ok
# swap put the other deployment into production (none was lost or
# applied twice), and both nodes' maps end equal to that history.
#
# Fails when two appends can both succeed (no compare on revision: the
# second entry overwrites the first, the nodes' histories and maps part),
# when a lost race answers something else than 409, or when a node does
# not apply the other's entries.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
# over TLS: etcd wants HTTPS and a client certificate (etcds://)
ETCD_TLS=1
# shellcheck source=tests/integration/etcd_lib.sh
. tests/integration/etcd_lib.sh

P=ec$$
OUT=$(mktemp -d /tmp/slotlb-ec.XXXXXX)
ROUNDS=${ROUNDS:-15}

etcd_fleet_up -
# etcd_plain ARGS: a request to etcd from its namespace, as curl gets it
etcd_plain()
{
	ip netns exec "$(etcd_ns)" curl -s -m 3 --noproxy '*' "$@" \
		-d '{"key":"Lw=="}' >/dev/null 2>&1
}
check "etcd answers no plain HTTP and no client without a certificate" \
	eval '! etcd_plain "http://$ETCD_ADDR:2379/v3/kv/range" &&
	! etcd_plain --cacert "$OUT/tls/ca.pem" "https://$ETCD_ADDR:2379/v3/kv/range"'
check "etcd answers a client with the nodes' certificate" \
	etcd_plain --fail --cacert "$OUT/tls/ca.pem" --cert "$OUT/tls/client.pem" \
	--key "$OUT/tls/client.key" "https://$ETCD_ADDR:2379/v3/kv/range"
etcd_web_up
need "node b applied node a's entries" wait_for 10 same_applied

# prod NODE: the deployment id in web's production slot on NODE.
prod()
{
	on "$1" -o json status web | python3 -c '
import json, sys
print(json.load(sys.stdin)["apps"][0]["slots"][0]["deployment"]["id"])'
}
first_prod=$(prod a)

# --- rounds of two swaps at once -------------------------------------------
ok=0
conflicts=0
others=0
for ((r = 1; r <= ROUNDS; r++)); do
	pids=()
	for n in a b; do
		api "$n" POST /v1/apps/web/swap '{"slot":"staging"}' \
			>"$OUT/$r.$n" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for n in a b; do
		code=$(tail -1 "$OUT/$r.$n")
		case "$code" in
		200) ok=$((ok + 1)) ;;
		409) conflicts=$((conflicts + 1)) ;;
		*)
			others=$((others + 1))
			echo "round $r node $n: $(cat "$OUT/$r.$n")"
			;;
		esac
	done
done
echo "# $ROUNDS rounds: $ok swaps 200, $conflicts 409, $others other"
check "every concurrent swap answered 200 or 409 ($others other)" \
	[ "$others" -eq 0 ]
check "some rounds raced (409 seen: $conflicts)" [ "$conflicts" -gt 0 ]
check "some swaps went through ($ok)" [ "$ok" -gt 0 ]
grep -h '"error"' "$OUT"/*.[ab] 2>/dev/null | sort | uniq -c | head -5

need "both nodes applied the same log" wait_for 15 same_applied
# history NODE: web's swaps, oldest first: "id outcome production".
history()
{
	on "$1" -o json history web | python3 -c '
import json, sys
h = [e for e in json.load(sys.stdin)["history"] if e["action"] == "swap"]
for e in sorted(h, key=lambda e: e["id"]):
    print(e["id"], e["outcome"], json.dumps(e.get("deployments"), sort_keys=True))'
}
history a >"$OUT/history.a"
history b >"$OUT/history.b"
check "both nodes hold the same swap history (one order)" \
	eval '[ -s "$OUT/history.a" ] && cmp -s "$OUT/history.a" "$OUT/history.b"'
ok_swaps=$(grep -c ' ok ' "$OUT/history.a")
check "ok swaps in the history ($ok_swaps) = swaps answered 200 ($ok)" \
	[ "$ok_swaps" -eq "$ok" ]
# each ok swap found production holding what the one before left there
check "each ok swap moved the other deployment into production" \
	python3 - "$OUT/history.a" <<'PY'
import json, sys
prods = [json.loads(l.split(" ", 2)[2]) for l in open(sys.argv[1]) if " ok " in l]
# "deployments": what each slot held when the swap began
seen = [d.get("production") if isinstance(d, dict) else d for d in prods]
ok = all(a != b for a, b in zip(seen, seen[1:]))
if not ok:
    print("production before each ok swap:", seen)
sys.exit(0 if ok else 1)
PY
want=$first_prod
if [ $((ok % 2)) -eq 1 ]; then
	want=$(on a -o json status web | python3 -c '
import json, sys
print(json.load(sys.stdin)["apps"][0]["slots"][1]["deployment"]["id"])')
	want_is_staging=1
fi
check "production after $ok swaps is what their count says (both nodes)" \
	eval '[ "$(prod a)" = "$(prod b)" ] &&
		{ [ -n "${want_is_staging:-}" ] || [ "$(prod a)" = "$first_prod" ]; } &&
		{ [ -z "${want_is_staging:-}" ] || [ "$(prod a)" != "$first_prod" ]; }'
check "both nodes' routing maps are equal" wait_for 10 same_routing
check "web answers the same version through both nodes" \
	[ "$(version_via a 1)" = "$(version_via b 1)" ]

[ "$failures" -eq 0 ]
