# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Part of test_install.sh, run by it inside the throwaway overlay root
# (R: the root, T/upper: its upper layer; in_root runs a command there):
# make install and uninstall into a real root. Not a test of its own (no
# test_ prefix).
# shellcheck shell=bash disable=SC2154,SC2034,SC2016

failures=0
check "make install" quiet in_root make --no-print-directory -s -C "$REPO" install
out=$(in_root systemd-analyze verify /usr/local/lib/systemd/system/slotlbd.service 2>&1)
rc=$?
check "systemd-analyze verify: exit $rc, nothing said${out:+ ($out)}" test $rc -eq 0 -a -z "$out"
out=$(in_root man -w 8 slotlbd slotlb | while read -r f; do in_root readlink -f "$f"; done |
	tr '\n' ' ')
check "man finds slotlbd(8) and slotlb(8) ($out)" test "$out" = \
	"/usr/local/share/man/man8/slotlbd.8 /usr/local/share/man/man8/slotlb.8 "
out=$(in_root bash -c '. /usr/local/share/bash-completion/completions/slotlb &&
	COMP_WORDS=(slotlb slot sw) COMP_CWORD=2 && _slotlb && echo "${COMPREPLY[*]}"')
check "the completion is loaded from its directory ($out)" test "$out" = swap
out=$(in_root slotlbd --check-config | head -1)
check "slotlbd reads /etc/slotlb/slotlbd.conf by default ($out)" \
	test "$out" = "# slotlbd settings from /etc/slotlb/slotlbd.conf and the command line"
check "make uninstall" quiet in_root make --no-print-directory -s -C "$REPO" uninstall
left=$(leftovers "$T/upper" "${REPO#/}/build" var/cache/man run/systemd/systemd-units-load)
check "nothing left after uninstall${left:+: $(echo $left)}" test -z "$left"
exit 0
