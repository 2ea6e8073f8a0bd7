#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Post-swap verification in the real lab. Production v1 (b1); staging
# gets v2 (b2, every answer 500: warm-up accepts any status, so the swap
# goes through), then v3 (b3, healthy).
#   1. production stores a verification (slot config --verify-for 8
#      --verify-exec CHECK: a request from the client's namespace through
#      the endpoint, which must answer 200); swap v2 in with no verify
#      option: the app is verifying, the check sees 500 twice, and the
#      slot rolls itself back within the window: production serves v1,
#      history has "verify failed" with the status and an
#      "auto-rollback".
#   2. swap v3 in with its own --verify-for 6 (used whole over the stored
#      one): it passes, verifying clears, history says "verify ok".
#   3. swap v1 (now in staging) back in with --max-reset-ratio 0.2, then
#      b1's server dies: its kernel resets every connection, the data
#      path counts the resets against the deployment, and the slot rolls
#      back to v3.
#   4. Bad input: a ratio outside 0..1, an unknown --on-failure,
#      --verify-for with a preview, the same in slot config: exit 2,
#      nothing changes.
#   5. --on-failure alert: v2 (500) swapped in again fails the same
#      check, history says "alert only", and production keeps v2 (no
#      auto-rollback); then --verify-http from slotlbd's host, which
#      cannot reach the endpoint in the plain lab (docs/cli.md): an HTTP
#      check that gets no answer fails the verification, it is not
#      skipped.
#   6. --verify-http through the data path: the client's namespace NATs
#      and sends back in (a hairpin) what slotlbd's namespace sends to
#      production's endpoint, as a router of a real network would. v2's
#      500 fails the check (alert only), v3's 200 passes.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=vf$$
PROD=$(lab_vip 1 4)
STAGING=$(lab_vip 2 4)

# prod_version: the version in production, as status says.
prod_version()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"] if s["deployment"] else "-")'
}

verifying()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
v = json.load(sys.stdin)["apps"][0].get("verifying")
print("%s:%s" % (v["slot"], v["deployment"]) if v else "-")'
}

# history_line ACTION: "outcome trigger | detail" of the newest ACTION.
history_line()
{
	ctl_cli "$P" -o json history web | python3 -c '
import json, sys
for e in json.load(sys.stdin)["history"]:
    if e["action"] == sys.argv[1]:
        print(e["outcome"], e["trigger"], "|", e["detail"]); break' "$1"
}

# wait_for WANT CMD...: poll CMD until it prints WANT (20 s at most);
# prints the milliseconds it took.
wait_for()
{
	local want=$1 t0
	shift
	t0=$(now_ms)
	while [ "$("$@")" != "$want" ]; do
		[ $(($(now_ms) - t0)) -gt 20000 ] && { echo -1; return 1; }
		sleep 0.1
	done
	echo $(($(now_ms) - t0))
}

served()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 2 "http://$PROD/" |
		cut -d' ' -f1
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3 nft
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 --status 500 || die "httpd b2"
lab_start_httpd "$P" 3 v3 || die "httpd b3"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 3 || die "attach"
# The check: a request from the client's namespace, through the data
# path, that must answer 200 (stderr names the status for the history).
CHECK=$(lab_state_dir "$P")/check.sh
cat >"$CHECK" <<EOF
#!/bin/sh
code=\$(ip netns exec $(lab_ns_client "$P") curl -s --noproxy '*' -m 1 \\
	-o /dev/null -w '%{http_code}' http://$PROD/)
[ "\$code" = 200 ] && exit 0
echo "status \$code through the endpoint" >&2
exit 1
EOF
chmod +x "$CHECK"
# shellcheck disable=SC2015 # die is the else of the whole chain
ctl_cli "$P" app create web --endpoint "$PROD:80" >/dev/null &&
	ctl_cli "$P" slot create web --slot staging --endpoint "$STAGING:80" \
		>/dev/null &&
	ctl_cli "$P" deploy web --slot production --backend "$(be 1)" \
		--version v1 >/dev/null &&
	ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" \
		--version v2 >/dev/null || die "seed app"

echo "# 4. bad input changes nothing"
bad()
{
	local desc=$1 want=$2 rc err

	shift 2
	err=$(cli slot swap web --slot staging "$@" 2>&1 >/dev/null)
	rc=$?
	check "$desc: exit 2 (got $rc: $err)" [ "$rc" -eq 2 ]
	check "$desc: error says '$want'" grep -q "^Error: .*$want" <<<"$err"
}
bad "reset ratio 1.5" "ratio must be 0..1" --verify-for 5 \
	--max-reset-ratio 1.5
bad "handshake ratio -0.1" "ratio must be 0..1" --verify-for 5 \
	--max-handshake-failure-ratio -0.1
bad "unknown --on-failure" "rollback or alert" --verify-for 5 \
	--on-failure retry
bad "verify a preview" "goes with a swap" --verify-for 5 \
	--action preview --audience 198.18.0.2/32
bad "--verify-http without --verify-for" "goes with --verify-for" \
	--verify-http /=200
bad_config()
{
	local desc=$1 want=$2 rc err

	shift 2
	err=$(cli slot config web --slot production "$@" 2>&1 >/dev/null)
	rc=$?
	check "config $desc: exit 2 (got $rc: $err)" [ "$rc" -eq 2 ]
	check "config $desc: error says '$want'" grep -q "^Error: .*$want" \
		<<<"$err"
}
bad_config "reset ratio 2" "ratio must be 0..1" --verify-for 5 \
	--max-reset-ratio 2
bad_config "verify for 0" "verify-for" --verify-for 0
bad_config "--on-failure without --verify-for" "goes with --verify-for" \
	--on-failure alert
check "nothing changed: production still v1" [ "$(prod_version)" = v1 ]
check "nothing stored: no verification" \
	grep -q '"verify": null' \
	<<<"$(cli -o json slot config web --slot production)"

echo "# 1. a deployment answering 500 rolls itself back (stored policy)"
cli slot config web --slot production --verify-for 8 --verify-exec "$CHECK" \
	--on-failure rollback >/dev/null || die "store the verification"
cfg=$(cli slot config web --slot production)
check "config shows the verification ($cfg)" \
	grep -q "^verification: 8 s, exec $CHECK, then rollback" <<<"$cfg"
check "-o json shows it" python3 -c '
import json, sys
v = json.load(sys.stdin)["verify"]
sys.exit(not (v["for_s"] == 8 and v["on_failure"] == "rollback"))' \
	<<<"$(cli -o json slot config web --slot production)"
t0=$(now_ms)
out=$(cli slot swap web --slot staging 2>&1)
rc=$?
check "swap exits 0 ($out)" [ "$rc" -eq 0 ]
took=$(wait_for v1 prod_version)
echo "   status shows production back on v1 $(($(now_ms) - t0)) ms after the swap began"
check "rolled back (status)" [ "$took" -ge 0 ]
check "production serves v1 again" [ "$(served)" = v1 ]
h=$(history_line verify)
echo "   verify: $h"
check "history: verify failed on the 500" \
	grep -q "^failed .*exec: .*status 500 through the endpoint" <<<"$h"
after=$(sed -n 's/.*failed verification after \([0-9.]*\) s.*/\1/p' <<<"$h")
check "failed within the 8 s window (after ${after:-?} s)" \
	python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 8)' \
	"${after:-99}"
h=$(history_line auto-rollback)
echo "   auto-rollback: $h"
check "history: auto-rollback ok, triggered by the check" \
	grep -q "^ok slotlbd verification: exec: " <<<"$h"
wait_for - verifying >/dev/null
check "verifying cleared" [ "$(verifying)" = - ]

echo "# 2. a healthy swap passes and clears verifying"
ctl_cli "$P" deploy web --slot staging --backend "$(be 3)" --version v3 \
	>/dev/null || die "deploy v3"
cli slot swap web --slot staging --verify-for 6 --verify-exec "$CHECK" \
	>/dev/null 2>&1
check "swap of v3 exits 0" [ $? -eq 0 ]
v=$(verifying)
echo "   right after the swap: verifying $v"
check "the app is verifying production" grep -q "^production:" <<<"$v"
took=$(wait_for - verifying)
echo "   verification of v3 over after $took ms"
check "verifying cleared after the window" [ "$(verifying)" = - ]
check "production still v3" [ "$(prod_version)" = v3 ]
h=$(history_line verify)
echo "   verify: $h"
check "history: verify ok" grep -q "^ok .*passed" <<<"$h"

echo "# 3. a deployment whose connections are reset rolls itself back"
cli slot swap web --slot staging --verify-for 10 --max-reset-ratio 0.2 \
	>/dev/null 2>&1
check "swap of v1 exits 0" [ $? -eq 0 ]
lab_stop_httpd "$P" 1
t0=$(now_ms)
lab_exec_client "$P" bash -c "for k in \$(seq 40); do
	curl -s --noproxy '*' -m 1 -o /dev/null http://$PROD/; done" \
	2>/dev/null
wait_for v3 prod_version >/dev/null
echo "   production back on v3 $(($(now_ms) - t0)) ms after b1 died"
check "rolled back to v3" [ "$(prod_version)" = v3 ]
h=$(history_line verify)
echo "   verify: $h"
check "history: verify failed on the reset ratio" \
	grep -q "^failed .*reset ratio .* backend resets over" <<<"$h"
check "production serves v3" [ "$(served)" = v3 ]
cli slot config web --slot production --verify-off >/dev/null
check "--verify-off removes the stored verification" \
	grep -q '"verify": null' \
	<<<"$(cli -o json slot config web --slot production)"

echo "# 5. --on-failure alert records the failure and rolls nothing back"
# count_action ACTION: how many history entries ACTION has.
count_action()
{
	ctl_cli "$P" -o json history web | python3 -c '
import json, sys
print(sum(e["action"] == sys.argv[1] for e in json.load(sys.stdin)["history"]))' "$1"
}
rollbacks=$(count_action auto-rollback)
ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" --version v2 \
	>/dev/null || die "deploy v2 again"
cli slot swap web --slot staging --verify-for 6 --verify-exec "$CHECK" \
	--on-failure alert >/dev/null 2>&1
check "alert: swap of v2 exits 0" [ $? -eq 0 ]
wait_for - verifying >/dev/null
h=$(history_line verify)
echo "   verify: $h"
check "alert: history: verify failed on the 500, alert only" \
	grep -q "^failed .*status 500 through the endpoint; alert only" <<<"$h"
sleep 1 # a rollback would have begun by now
check "alert: production keeps v2 ($(prod_version))" [ "$(prod_version)" = v2 ]
check "alert: no auto-rollback ($(count_action auto-rollback) after $rollbacks)" \
	[ "$(count_action auto-rollback)" = "$rollbacks" ]
check "alert: production serves v2" [ "$(served)" = v2 ]
# staging holds v3 now: --verify-http GETs production's endpoint
cli slot swap web --slot staging --verify-for 4 --verify-http / \
	--on-failure alert >/dev/null 2>&1
check "verify-http: swap of v3 exits 0" [ $? -eq 0 ]
wait_for - verifying >/dev/null
h=$(history_line verify)
echo "   verify: $h"
check "verify-http: no answer from $PROD:80 fails the check" \
	grep -q "^failed .*http: GET http://$PROD:80/: .*; alert only" <<<"$h"
check "verify-http: production keeps v3" [ "$(prod_version)" = v3 ]

echo "# 6. --verify-http through the endpoint, by the client's hairpin"
# slotlbd's GET to production's endpoint leaves the LB namespace toward
# the client (a host route), whose NAT gives it the client's address and
# sends it back in through pub0: the data path takes it as any client's,
# the backend's answer comes back the same way. Nothing else of the lab
# sends to the endpoint from the LB namespace.
hairpin_up()
{
	lab_exec_client "$P" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.c0.send_redirects=0 || return 1
	lab_exec_client "$P" nft -f - <<-EOF || return 1
		table ip slotlb_hairpin {
			chain post {
				type nat hook postrouting priority srcnat;
				ip saddr 198.18.0.1 ip daddr $PROD masquerade
			}
		}
	EOF
	lab_exec_lb "$P" ip route add "$PROD/32" via 198.18.0.2 dev pub0
}
hairpin_up || die "hairpin"
# production holds v3 (200), staging v2 (500)
code=$(lab_exec_lb "$P" curl -s --noproxy '*' -m 2 -o /dev/null \
	-w '%{http_code}' "http://$PROD/")
check "hairpin: slotlbd's namespace gets v3's 200 through the endpoint (got $code)" \
	[ "$code" = 200 ]
cli slot swap web --slot staging --verify-for 4 --verify-http / \
	--on-failure alert >/dev/null 2>&1
check "verify-http 500: swap of v2 exits 0" [ $? -eq 0 ]
wait_for - verifying >/dev/null
h=$(history_line verify)
echo "   verify: $h"
check "verify-http 500: v2's status 500 fails the check" \
	grep -q "^failed .*http: GET http://$PROD:80/: status 500; alert only" \
	<<<"$h"
check "verify-http 500: production keeps v2" [ "$(prod_version)" = v2 ]
cli slot swap web --slot staging --verify-for 4 --verify-http / \
	--on-failure alert >/dev/null 2>&1
check "verify-http 200: swap of v3 exits 0" [ $? -eq 0 ]
wait_for - verifying >/dev/null
h=$(history_line verify)
echo "   verify: $h"
check "verify-http 200: v3 passes" grep -q "^ok .*passed" <<<"$h"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: verify: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: verify"
