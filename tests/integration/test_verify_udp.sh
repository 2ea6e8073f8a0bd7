#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# --verify-http checks "the slot's first TCP endpoint" (docs/cli.md). A
# swap asking for it into a slot that has no TCP endpoint (a UDP
# service) cannot be verified that way: bad input, refused before
# anything changes (exit 1, slotlbd's 400 naming what is wrong;
# production untouched),
# never a swap that then fails its check and rolls itself back.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=vu$$

prod_version()
{
	ctl_cli "$P" -o json status dns | python3 -c '
import json, sys
for s in json.load(sys.stdin)["apps"][0]["slots"]:
    if s["name"] == "production":
        print(s["deployment"]["version"] if s["deployment"] else "-")'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create dns --endpoint "$(lab_vip 1 4):53/udp" >/dev/null &&
	cli slot create dns --slot staging \
		--endpoint "$(lab_vip 2 4):53/udp" >/dev/null &&
	cli deploy dns --slot production --backend "$(be 1)" \
		--version v1 >/dev/null &&
	cli deploy dns --slot staging --backend "$(be 2)" \
		--version v2 >/dev/null || die "seed app"
err=$(cli slot swap dns --slot staging --verify-for 6 --verify-http / 2>&1 \
	>/dev/null)
rc=$?
echo "   swap with --verify-http into a UDP-only slot: exit $rc: $err"
check "refused by slotlbd: exit 1, docs/cli.md (got $rc)" [ "$rc" -eq 1 ]
check "the error names the missing TCP endpoint" grep -qi "tcp endpoint" <<<"$err"
sleep 4
check "production untouched: v1 (got $(prod_version))" [ "$(prod_version)" = v1 ]
ctl_cli "$P" history dns | head -4

if [ "$failures" -ne 0 ]; then
	echo "FAIL: verify_udp: $failures checks failed"
	exit 1
fi
echo "PASS: verify_udp"
