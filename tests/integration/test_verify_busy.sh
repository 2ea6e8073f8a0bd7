#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A verification that fails while the app is busy with another
# operation. Production v1, staging v2; v2 is swapped in with a
# verification (exec check that always fails, on-failure rollback).
# Meanwhile a deploy of v3 into a third slot, qa, runs its slot's
# apply-settings hook for 8 s (the app is busy all that time). The
# verification fails 2 s after the swap; history says "rolling back".
# Production must then go back to v1 (at once, or once the app is
# idle again), not stay on the deployment that failed with no rollback
# ever tried again.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=vb$$

prod_version()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"] if s["deployment"] else "-")'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || die "httpd b$i"
done
ctl_start "$P" || die "slotlbd did not start"
DIR=$(lab_state_dir "$P")
printf '#!/bin/sh\necho "always fails" >&2\nexit 1\n' >"$DIR/fail.sh"
printf '#!/bin/sh\nsleep 8\n' >"$DIR/slow-hook.sh"
chmod +x "$DIR/fail.sh" "$DIR/slow-hook.sh"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create web --endpoint "$(lab_vip 1 4):80" >/dev/null &&
	cli slot create web --slot staging --endpoint "$(lab_vip 2 4):80" \
		>/dev/null &&
	cli slot create web --slot qa --endpoint "$(lab_vip 3 4):80" \
		>/dev/null &&
	cli deploy web --slot production --backend "$(be 1)" --version v1 \
		>/dev/null &&
	cli deploy web --slot staging --backend "$(be 2)" --version v2 \
		>/dev/null &&
	cli slot hook set web --slot qa --exec "$DIR/slow-hook.sh" \
		--timeout 30 >/dev/null || die "seed app"
need "swap v2 in with a verification" cli slot swap web --slot staging \
	--verify-for 20 --verify-exec "$DIR/fail.sh" >/dev/null
cli deploy web --slot qa --backend "$(be 3)" --version v3 >/dev/null 2>&1 &
deploy=$!
wait "$deploy"
echo "   deploy of v3 into qa (8 s hook) ended: exit $?"
sleep 4
v=$(prod_version)
check "production back on v1 after v2 failed its verification (got $v)" \
	[ "$v" = v1 ]
ctl_cli "$P" history web | head -6
grep "verify\|auto-rollback" "$(ctl_dir "$P")/slotlbd.log" | tail -3

if [ "$failures" -ne 0 ]; then
	echo "FAIL: verify_busy: $failures checks failed"
	exit 1
fi
echo "PASS: verify_busy"
