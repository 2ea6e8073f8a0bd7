#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlb_backend_health_in_ring is "1 if it takes new connections (up,
# or down and kept by fail open), 0 if out of the ring"
# (docs/slotlbd.md, Metrics). A backend drained by the operator
# (`backend drain`: "take the backend out of its ring", docs/cli.md)
# takes no new connection: its series must say 0 while it passes its
# probes (slotlb_backend_health_up 1), and 1 again once undrained.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=md$$

# series NAME ADDR: the value of NAME for backend ADDR ("-" if none).
series()
{
	ctl_api "$P" GET /metrics | awk -v n="$1" -v a="$2" '
		index($1, n "{") == 1 && index($1, "backend=\"" a "\"") { v = $2 }
		END { print (v == "" ? "-" : v) }'
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD"
need_tools curl python3
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v1 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
# shellcheck disable=SC2015 # die is the else of the whole chain
cli app create web --endpoint "$(lab_vip 1 4):80" >/dev/null &&
	cli deploy web --slot production --backend "$(be 1)" \
		--backend "$(be 2)" --version v1 >/dev/null &&
	cli slot health web --slot production --path / --interval 0.2 \
		--timeout 0.1 >/dev/null || die "seed app"
sleep 1.5
need "b2 probed: up 1, in ring 1" [ "$(series slotlb_backend_health_up "$(be 2)")/$(series slotlb_backend_health_in_ring "$(be 2)")" = 1/1 ]
need "drain b2" cli backend drain web --slot production --backend "$(be 2)" \
	>/dev/null
sleep 0.5
up=$(series slotlb_backend_health_up "$(be 2)")
ring=$(series slotlb_backend_health_in_ring "$(be 2)")
check "drained b2: health up 1 (got $up)" [ "$up" = 1 ]
check "drained b2: in ring 0, it takes no new connection (got $ring)" \
	[ "$ring" = 0 ]
need "undrain b2" cli backend undrain web --slot production \
	--backend "$(be 2)" >/dev/null
sleep 0.5
ring=$(series slotlb_backend_health_in_ring "$(be 2)")
check "undrained b2: in ring 1 (got $ring)" [ "$ring" = 1 ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: metrics_drained: $failures checks failed"
	exit 1
fi
echo "PASS: metrics_drained"
