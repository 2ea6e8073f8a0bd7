#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# One writer of routing elements per pin root: the free list of the
# routing pool lives in one process, so a second writer would hand out
# entries a reader may still hold. slotlbd claims the writer lock at
# start; a second slotlbd on the same pins and a dpctl routing change
# are refused with a clear error while it runs, and traffic is
# untouched; once it stops, the lock is free again.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=sw$$
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
ctl_trap_cleanup "$P"
lab_up "$P" 1 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 1 || die "attach"
cli app create web --endpoint 198.18.100.1:80 >/dev/null || die "app create"
cli deploy web --slot production --backend "$(be 1)" --version v1 \
	>/dev/null || die "deploy"

served()
{
	lab_exec_client "$P" curl -s -m 3 http://198.18.100.1/
}
need "production serves v1" [ "$(served)" = "v1 $(be 1)" ]

dir=$(ctl_dir "$P")
out=$(ctl_exec_lb "$P" timeout 10 "$CTL_SLOTLBD" --state-dir "$dir/second" \
	--socket "$dir/second.sock" --pin-root "$(ctl_pin_root "$P")" \
	--flow-capacity "$CTL_FLOW_CAPACITY" 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
check "a second slotlbd on the same pins exits non-zero" [ $rc -ne 0 ]
check "... saying another process writes the routing elements" \
	grep -q "another process" <<<"$out"

out=$(ctl_exec_lb "$P" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	routing set 0 7 2>&1)
rc=$?
echo "   $out"
check "dpctl routing set is refused while slotlbd runs" [ $rc -ne 0 ]
check "... naming the owner" grep -q "slotlbd" <<<"$out"
check "the routing element is untouched" \
	[ "$(ctl_exec_lb "$P" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
		routing show 0)" = "slot 0 deployment 1" ]
check "production still serves v1" [ "$(served)" = "v1 $(be 1)" ]
check "the first slotlbd still answers" cli status

ctl_stop "$P" || die "slotlbd did not stop"
check "with slotlbd stopped, dpctl may change routing" \
	ctl_exec_lb "$P" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	routing set 0 1
check "traffic kept flowing without the daemon" \
	[ "$(served)" = "v1 $(be 1)" ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: single_writer: $failures check(s) failed"
	exit 1
fi
echo "PASS: single_writer"
