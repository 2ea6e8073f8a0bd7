#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Bounds the controller enforces with a clear error and no state change:
# distinct backend addresses on a host (SLOTLB_MAX_BACKEND_ADDRS, 4,096,
# so the data path's check of a packet's source stays in cache) and slots
# per app (SLOTLB_MAX_SLOTS, 20). Backends sharing an address (other
# ports) do not count twice. Only maps are written: no traffic goes to
# the addresses used.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=li$$
MAX_ADDRS=4096
PER_DEPLOY=1024
require_built "$CTL_SLOTLBD" "$CTL_CLI"
ctl_trap_cleanup "$P"
lab_up "$P" 1 || exit $?
ctl_start "$P" || die "slotlbd did not start"

# deploy_json FIRST COUNT PORT: a deploy body of COUNT backends at
# distinct addresses 10.64.0.0 + FIRST.., all on PORT.
deploy_json()
{
	python3 - "$@" <<'PY'
import json, sys
first, count, port = map(int, sys.argv[1:])
print(json.dumps({"version": "v1", "backends": [
    "10.64.%d.%d:%d" % ((first + i) >> 8, (first + i) & 255, port)
    for i in range(count)]}))
PY
}

apps=$((MAX_ADDRS / PER_DEPLOY))
for ((a = 0; a < apps; a++)); do
	need "app a$a" cli app create "a$a" --endpoint "198.18.100.$((a + 10)):80" \
		>/dev/null
	out=$(ctl_api "$P" POST "/v1/apps/a$a/slots/production/deploy" \
		"$(deploy_json $((a * PER_DEPLOY)) $PER_DEPLOY 8080)")
	need "deploy $PER_DEPLOY distinct addresses into a$a" \
		[ "$(tail -1 <<<"$out")" = 201 ]
done
need "app full" cli app create full --endpoint 198.18.100.99:80 >/dev/null
before=$(cli -o json status)

out=$(ctl_api "$P" POST /v1/apps/full/slots/production/deploy \
	"$(deploy_json $MAX_ADDRS 1 8080)")
echo "   $(head -1 <<<"$out")"
check "address $((MAX_ADDRS + 1)) is refused with 409" \
	[ "$(tail -1 <<<"$out")" = 409 ]
check "... naming the bound" grep -q "$MAX_ADDRS distinct backend addresses" \
	<<<"$out"
check "... and nothing changed" [ "$(cli -o json status)" = "$before" ]

out=$(ctl_api "$P" POST /v1/apps/full/slots/production/deploy \
	"$(deploy_json 0 16 9090)")
check "backends on addresses already in use (other port) are accepted" \
	[ "$(tail -1 <<<"$out")" = 201 ]

# Slots: production plus 19 more fill the routing element.
for ((s = 1; s < 20; s++)); do
	cli slot create full --slot "s$s" \
		--endpoint "198.18.101.$s:80" >/dev/null || break
done
check "19 slots besides production are accepted" [ "$s" -eq 20 ]
before=$(cli -o json status)
err=$(cli slot create full --slot s20 --endpoint 198.18.101.20:80 2>&1)
rc=$?
echo "   $err"
check "slot 21 is refused" [ $rc -ne 0 ]
check "... naming the bound of 20" grep -q "20" <<<"$err"
check "... and nothing changed" [ "$(cli -o json status)" = "$before" ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: limits: $failures check(s) failed"
	exit 1
fi
echo "PASS: limits"
