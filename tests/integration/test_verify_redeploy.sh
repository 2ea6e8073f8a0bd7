#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A verification judges the deployment it was started for, and only
# that one. v2 is swapped into production with --verify-exec CHECK and
# --on-failure rollback; CHECK fails at once, then (second check) waits
# while v3 is deployed into production, and fails again. v2 has failed
# its verification, but production no longer holds it: the verification
# is cancelled, production keeps v3, and nothing is rolled back (slotlbd
# used to roll production back, putting v2 back in place of v3).
#
# Backends: b1 v1 and v3, b2 v2.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=vd$$

# prod_version: the version production holds.
prod_version()
{
	cli -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"] if s["deployment"] else "-")'
}

# count_action ACTION: history entries of web with that action.
count_action()
{
	cli -o json history web | python3 -c '
import json, sys
print(sum(e["action"] == sys.argv[1] for e in json.load(sys.stdin)["history"]))' "$1"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools python3
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
# CHECK: the first run fails; the second says it started, waits (at most
# 8 s, within the 10 s a check may take) for $STATE/go, and fails.
CHECK=$STATE/check.sh
cat >"$CHECK" <<EOF
#!/bin/sh
cat >/dev/null
n=\$(cat $STATE/runs 2>/dev/null || echo 0)
echo \$((n + 1)) >$STATE/runs
[ "\$n" -eq 0 ] && { echo "first check fails" >&2; exit 1; }
touch $STATE/started
i=0
while [ ! -e $STATE/go ] && [ \$i -lt 80 ]; do sleep 0.1; i=\$((i + 1)); done
echo "second check fails" >&2
exit 1
EOF
chmod +x "$CHECK"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create web --endpoint "$(lab_vip 1):80" >/dev/null &&
	cli slot create web --slot staging --endpoint "$(lab_vip 2):80" \
		>/dev/null &&
	cli deploy web --slot production --backend "$(be 1)" --version v1 \
		>/dev/null &&
	cli deploy web --slot staging --backend "$(be 2)" --version v2 \
		>/dev/null || die "seed app"

need "swap v2 in with a verification" cli slot swap web --slot staging \
	--verify-for 30 --verify-exec "$CHECK" --on-failure rollback
for ((i = 0; i < 100; i++)); do
	[ -e "$STATE/started" ] && break
	sleep 0.1
done
need "the second check runs" [ -e "$STATE/started" ]
need "deploy v3 into production meanwhile" cli deploy web --slot production \
	--backend "$(be 1)" --version v3
touch "$STATE/go"
# the check ends at once; the verdict follows within a check interval
for ((i = 0; i < 50; i++)); do
	[ "$(count_action verify)" -ge 1 ] && break
	sleep 0.1
done
sleep 1
cli history web | head -6 | sed 's/^/   /'
check "production keeps v3 ($(prod_version))" [ "$(prod_version)" = v3 ]
check "no auto-rollback" [ "$(count_action auto-rollback)" = 0 ]
check "history: the verification is cancelled" python3 -c '
import json, sys
v = [e for e in json.load(sys.stdin)["history"] if e["action"] == "verify"]
sys.exit(0 if v and v[0]["outcome"] == "cancelled" else 1)' \
	<<<"$(cli -o json history web)"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: verify_redeploy: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: verify_redeploy"
