#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Post-swap verification against a slot that changes under it.
# Production v1 (b1), staging v2 (b2), every server healthy.
#  1. v2 swapped in with a verification (exec check passing, 30 s), then
#     v1 swapped back in with a verification of its own: the first ends
#     cancelled, and status must show the second (production, v1) as
#     verifying: the first's end must not clear it.
#  2. v2 swapped in with a verification whose check fails, slowly: while
#     its second failing check runs, an operator swaps v1 back in. The
#     verification of v2 must not then "roll back" production to v2,
#     the deployment that just failed it: production stays on v1.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=vr$$
PROD=$(lab_vip 1 4)
STAGING=$(lab_vip 2 4)

prod_version()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"] if s["deployment"] else "-")'
}

# verifying: "SLOT:VERSION-ID" of the running verification, or "-".
verifying()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
v = json.load(sys.stdin)["apps"][0].get("verifying")
print("%s:%s" % (v["slot"], v["deployment"]) if v else "-")'
}

prod_id()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["id"])'
}

history_count()
{
	ctl_cli "$P" -o json history web | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)["history"]
          if e["action"] == sys.argv[1] and e["outcome"] == sys.argv[2]))' \
		"$1" "$2"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
DIR=$(lab_state_dir "$P")
PASS=$DIR/pass.sh
cat >"$PASS" <<EOF
#!/bin/sh
exit 0
EOF
# Fails every time; its second run says so (in-second) and waits for go.
SLOWFAIL=$DIR/slowfail.sh
cat >"$SLOWFAIL" <<EOF
#!/bin/sh
n=\$(cat $DIR/runs 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >$DIR/runs
if [ \$n -eq 2 ]; then
	touch $DIR/in-second
	i=0
	while [ ! -e $DIR/go ] && [ \$i -lt 80 ]; do sleep 0.1; i=\$((i + 1)); done
fi
echo "check failed (run \$n)" >&2
exit 1
EOF
chmod +x "$PASS" "$SLOWFAIL"
# shellcheck disable=SC2015 # die is the else of the whole chain
ctl_cli "$P" app create web --endpoint "$PROD:80" >/dev/null &&
	ctl_cli "$P" slot create web --slot staging --endpoint "$STAGING:80" \
		>/dev/null &&
	ctl_cli "$P" deploy web --slot production --backend "$(be 1)" \
		--version v1 >/dev/null &&
	ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" \
		--version v2 >/dev/null || die "seed app"

echo "# 1. a cancelled verification does not clear the next one's status"
cli slot swap web --slot staging --verify-for 30 --verify-exec "$PASS" \
	>/dev/null || die "swap v2 in"
sleep 1.5
cli slot swap web --slot staging --verify-for 30 --verify-exec "$PASS" \
	>/dev/null || die "swap v1 back in"
want="production:$(prod_id)"
sleep 3 # the first notices the change within its 1 s interval
got=$(verifying)
check "status shows v1's verification running ($want, got $got)" \
	[ "$got" = "$want" ]
check "the first verification ended cancelled" \
	[ "$(history_count verify cancelled)" = 1 ]
ctl_stop "$P"
ctl_start "$P" || die "slotlbd did not restart"

echo "# 2. a failed verification never rolls back a slot that changed"
cli slot swap web --slot staging --verify-for 30 --verify-exec "$SLOWFAIL" \
	>/dev/null || die "swap v2 in"
for ((i = 0; i < 150; i++)); do
	[ -e "$DIR/in-second" ] && break
	sleep 0.1
done
[ -e "$DIR/in-second" ] || die "the check never ran twice"
cli slot swap web --slot staging >/dev/null || die "operator swaps v1 in"
check "operator's swap: production v1" [ "$(prod_version)" = v1 ]
touch "$DIR/go"
sleep 4
check "production still v1 after v2's verification failed (got $(prod_version))" \
	[ "$(prod_version)" = v1 ]
check "no auto-rollback recorded" \
	[ "$(history_count auto-rollback ok)" = 0 ]
ctl_cli "$P" history web | head -8
if [ "$failures" -ne 0 ]; then
	echo "FAIL: verify_race: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: verify_race"
