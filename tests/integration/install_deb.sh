# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Part of test_install.sh, run by it inside the throwaway overlay root
# (R: the root, T/upper: its upper layer; in_root runs a command there):
# the package's life with dpkg, its dependencies checked against this
# system. Not a test of its own (no test_ prefix).
# shellcheck shell=bash disable=SC2154,SC2034,SC2016

failures=0
mkdir -p "$R/tmp/slotlb-deb"
cp "$DEB" "$R/tmp/slotlb-deb/slotlb.deb"
# systemd "runs", as far as maintainer scripts can tell, and systemctl
# only records what it is asked to do.
mkdir "$R/run/systemd/system"
printf '#!/bin/sh\necho "$*" >>/tmp/slotlb-deb/systemctl.log\n' \
	>"$R/usr/local/sbin/systemctl"
chmod 755 "$R/usr/local/sbin/systemctl"
# man-db rebuilds its index on every dpkg run here (seconds each); the
# pages themselves are checked with man -w, which needs no index.
rm -f "$R/var/lib/man-db/auto-update"
calls()
{
	paste -sd';' "$R/tmp/slotlb-deb/systemctl.log" 2>/dev/null
}

check "dpkg -i (dependencies checked against this system)" \
	quiet in_root dpkg -i /tmp/slotlb-deb/slotlb.deb
check "installed" \
	test "$(in_root dpkg-query -W -f='${Status}' slotlb)" = "install ok installed"
check "installation makes the socket group slotlb" \
	quiet in_root getent group slotlb
check "installation enables and starts nothing (systemctl: $(calls))" \
	test "$(calls)" = "--system daemon-reload"
out=$(in_root systemd-analyze verify /lib/systemd/system/slotlbd.service 2>&1)
rc=$?
check "systemd-analyze verify of the packaged unit: exit $rc, nothing said${out:+ ($out)}" \
	test $rc -eq 0 -a -z "$out"
check "its ExecStart is /usr/sbin/slotlbd" \
	grep -qx 'ExecStart=/usr/sbin/slotlbd' "$R/lib/systemd/system/slotlbd.service"
out=$(in_root slotlbd --check-config | head -1)
check "the packaged slotlbd reads the packaged config ($out)" \
	test "$out" = "# slotlbd settings from /etc/slotlb/slotlbd.conf and the command line"
check "slotlb runs" quiet in_root slotlb --version
check "man finds the packaged pages" quiet in_root man -w 8 slotlbd slotlb

: >"$R/tmp/slotlb-deb/systemctl.log"
check "installing again (an upgrade)" quiet in_root dpkg -i /tmp/slotlb-deb/slotlb.deb
check "an upgrade restarts slotlbd if it runs (systemctl: $(calls))" \
	test "$(calls)" = "--system daemon-reload;try-restart slotlbd.service"

# State a daemon would have left, and an operator's change to the config.
mkdir -p "$R/var/lib/slotlb"
echo state >"$R/var/lib/slotlb/slotlb.db"
echo "flow-capacity = 4096" >>"$R/etc/slotlb/slotlbd.conf"
: >"$R/tmp/slotlb-deb/systemctl.log"
check "dpkg -r" quiet in_root dpkg -r slotlb
check "removal stops slotlbd (systemctl: $(calls))" \
	test "$(calls)" = "stop slotlbd.service;--system daemon-reload"
check "removal keeps the edited conffile and the state" \
	test "$(tail -1 "$R/etc/slotlb/slotlbd.conf")" = "flow-capacity = 4096" -a \
	-e "$R/var/lib/slotlb/slotlb.db"
check "removal removes the programs" \
	test ! -e "$R/usr/sbin/slotlbd" -a ! -e "$R/usr/bin/slotlb"
check "dpkg --purge" quiet in_root dpkg --purge slotlb
check "purged: unknown to dpkg" \
	test -z "$(in_root dpkg-query -W -f='${Status}' slotlb 2>/dev/null)"
check "purge removes the group slotlb" \
	test -z "$(in_root getent group slotlb)"

rm -rf "$R/tmp/slotlb-deb" "$R/usr/local/sbin/systemctl"
rmdir "$R/run/systemd/system"
# the group database was rewritten, with its lock files (the group is
# gone: checked above)
left=$(leftovers "$T/upper" var/lib/dpkg var/log/dpkg.log var/cache/man \
	var/lib/man-db var/cache/debconf run/systemd/systemd-units-load \
	etc/group etc/gshadow etc/group- etc/gshadow- etc/.pwd.lock run/adduser)
check "nothing left after purge${left:+: $(echo $left)}" test -z "$left"
exit 0
