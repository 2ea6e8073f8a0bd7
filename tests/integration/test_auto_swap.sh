#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Auto swap: staging auto-swaps into production.
#
# - a deploy into staging, and nothing else, makes production serve the
#   new version (history: auto-swap ok), warmed up with production's
#   stored policy;
# - deploy --wait of a deployment whose backend is down exits 1 and
#   production stays as it was (history: auto-swap failed, the attempts
#   of production's policy);
# - deploy --wait of a good one exits 0 after the delay;
# - configurations that chain or loop are refused (409), nothing changed;
# - --off: deploys into staging stay in staging, and an auto swap
#   waiting for its delay is not made.
#
# Backends: b1 v1, b2 v2, b3 nothing listening.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=as$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)

# deployment_of SLOT: "ID:VERSION" of the slot's deployment.
deployment_of()
{
	cli -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == sys.argv[1]:
        d = s["deployment"]
        print("%d:%s" % (d["id"], d["version"]) if d else "-")' "$1"
}

# newest FIELD...: fields of the newest history entry.
newest()
{
	cli -o json history web | python3 -c '
import json, sys
# entries of slotlbd itself (drained, retire) come and go with drains
e = [e for e in json.load(sys.stdin)["history"]
     if e["trigger"] != "slotlbd"][0]
print(" ".join(str(e[f]) for f in sys.argv[1:]))' "$@"
}

served()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 "http://$1/" | cut -d' ' -f1
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
need_tools python3 curl
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 3 || die "attach"
{
	cli app create web --endpoint "$PROD:80" &&
		cli slot create web --slot staging --endpoint "$STAGING:80" &&
		cli slot create web --slot qa --endpoint "$(lab_vip 3):80" &&
		cli deploy web --slot production --backend "$(be 1)" --version v1 &&
		cli slot config web --slot production --warmup-timeout 1 \
			--warmup-retries 1 --warmup-retry-delay 100 &&
		cli slot auto-swap web --slot staging
} >/dev/null || die "seed app"
check "staging auto-swaps into production" \
	grep -q "auto swap: into production" \
	<<<"$(cli slot config web --slot staging)"

echo "# chains and loops are refused"
before=$(cli -o json status web; ctl_api "$P" GET /v1/apps/web/slots/production/config)
out=$(cli slot auto-swap web --slot production --target-slot staging 2>&1)
rc=$?
echo "   $out"
check "production -> staging (a loop) exits 1" [ "$rc" -eq 1 ]
check "... naming the chain" grep -q "staging auto-swaps itself" <<<"$out"
out=$(cli slot auto-swap web --slot qa --target-slot staging 2>&1)
rc=$?
echo "   $out"
check "qa -> staging (a chain) exits 1" [ "$rc" -eq 1 ]
check "the API answers 409" \
	[ "$(ctl_api "$P" PUT /v1/apps/web/slots/qa/auto-swap '{"target_slot": "staging"}' | tail -1)" = 409 ]
check "nothing changed" [ "$(cli -o json status web; ctl_api "$P" GET /v1/apps/web/slots/production/config)" = "$before" ]

echo "# a deploy into staging, and nothing else, reaches production"
t0=$(now_ms)
cli deploy web --slot staging --backend "$(be 2)" --version v2 >/dev/null ||
	die "deploy v2"
for ((i = 0; i < 300; i++)); do
	[ "$(deployment_of production)" = "2:v2" ] && break
	sleep 0.1
done
echo "   production took v2 $(($(now_ms) - t0)) ms after the deploy"
check "production holds v2" [ "$(deployment_of production)" = "2:v2" ]
check "production serves v2" [ "$(served "$PROD")" = v2 ]
check "history: auto-swap ok, staging -> production" \
	[ "$(newest action slot target_slot outcome)" = "auto-swap staging production ok" ]
check "routing element matches status" [ "$(routing_show)" = "$(routing_expected)" ]

echo "# deploy --wait of a deployment that fails warm-up"
before=$(deployment_of production)
t0=$(now_ms)
out=$(cli deploy web --slot staging --backend "$(be 3)" --version v3 --wait 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
echo "   --wait ended after $(($(now_ms) - t0)) ms"
check "deploy --wait exits 1" [ "$rc" -eq 1 ]
check "it names the backend" grep -q "^Error: .*$(be 3)" <<<"$out"
check "production is untouched" [ "$(deployment_of production)" = "$before" ]
check "production serves v2" [ "$(served "$PROD")" = v2 ]
check "staging holds v3 (the deploy itself happened)" \
	grep -q ":v3$" <<<"$(deployment_of staging)"
check "history: auto-swap failed" \
	[ "$(newest action outcome)" = "auto-swap failed" ]
check "warmed up with production's stored policy (1 retry: 2 attempts)" \
	python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"]
     if e["trigger"] != "slotlbd"][0]
sys.exit(0 if e["warmup"][0]["attempts"] == 2 else 1)' \
	<<<"$(cli -o json history web)"

echo "# deploy --wait of a good deployment, 1 s delay"
cli slot auto-swap web --slot staging --delay 1 >/dev/null || die "delay"
t0=$(now_ms)
out=$(cli deploy web --slot staging --backend "$(be 1)" --version v4 --wait 2>&1)
rc=$?
took=$(($(now_ms) - t0))
echo "$out" | sed 's/^/   /'
echo "   --wait ended after $took ms"
check "deploy --wait exits 0" [ "$rc" -eq 0 ]
check "it waited the delay" [ "$took" -ge 1000 ]
check "production holds v4" grep -q ":v4$" <<<"$(deployment_of production)"

echo "# --off while an auto swap waits for its delay"
cli slot auto-swap web --slot staging --delay 2 >/dev/null || die "delay 2"
cli deploy web --slot staging --backend "$(be 2)" --version v4b >/dev/null ||
	die "deploy v4b"
check "auto swap off during the delay" \
	cli slot auto-swap web --slot staging --off >/dev/null
sleep 3
# it used to be made all the same, 2 s after the deploy
check "production keeps v4: the waiting auto swap is not made" \
	grep -q ":v4$" <<<"$(deployment_of production)"
cli slot auto-swap web --slot staging --delay 1 >/dev/null || die "on again"

echo "# --off"
check "auto swap off" cli slot auto-swap web --slot staging --off
hist=$(newest id)
cli deploy web --slot staging --backend "$(be 2)" --version v5 >/dev/null ||
	die "deploy v5"
sleep 1
check "production keeps v4" grep -q ":v4$" <<<"$(deployment_of production)"
check "the deploy is the only new history entry (slotlbd's own aside)" \
	[ "$(cli -o json history web | python3 -c '
import json, sys
print(" ".join(e["action"] for e in json.load(sys.stdin)["history"]
               if e["id"] > int(sys.argv[1]) and e["trigger"] != "slotlbd"))' \
	"$hist")" = deploy ]
out=$(cli deploy web --slot staging --backend "$(be 2)" --version v6 --wait 2>&1)
rc=$?
echo "   $out"
check "deploy --wait without auto swap exits 1 before deploying" \
	[ "$rc" -eq 1 ] && ! grep -q ":v6$" <<<"$(deployment_of staging)"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: auto_swap: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: auto_swap"
